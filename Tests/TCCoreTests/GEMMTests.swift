import Testing
import TCCore

@Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
func sgemmWithLeadingDimensionsAlphaBeta(transA: Bool, transB: Bool) {
    let m = 13, n = 17, k = 9
    // Operands are windows of larger row-major buffers (lda/ldb/ldc larger than the rows).
    let a = randomTensor(transA ? [k, m + 3] : [m, k + 3], seed: 1)
    let b = randomTensor(transB ? [n, k + 2] : [k, n + 2], seed: 2)
    let c = randomTensor([m, n + 5], seed: 3)
    let before = Dense(c)
    let lda = a.dim(1), ldb = b.dim(1)
    sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a.f32, lda: lda, b: b.f32, ldb: ldb,
          beta: -2, c: c.f32, ldc: n + 5)
    let da = Dense(a), db = Dense(b)
    let got = Dense(c)
    var err = 0.0
    for i in 0..<m { for j in 0..<n + 5 {
        var want = before[i, j]
        if j < n {
            var s = 0.0
            for p in 0..<k { s += (transA ? da[p, i] : da[i, p]) * (transB ? db[j, p] : db[p, j]) }
            want = 0.5 * s - 2 * before[i, j]
        }
        err = max(err, abs(got[i, j] - want))
    }}
    #expect(err < 1e-5)
}

@Test func sgemmWithEmptyInnerDimensionScalesC() {
    let c = Tensor([1, 2, 3, 4], [2, 2])
    let dummy = Tensor([0], [1])
    sgemm(m: 2, n: 2, k: 0, a: dummy.f32, lda: 1, b: dummy.f32, ldb: 1, beta: 0.5, c: c.f32, ldc: 2)
    #expect(c.toArray() == [0.5, 1, 1.5, 2])
    sgemm(m: 2, n: 2, k: 0, a: dummy.f32, lda: 1, b: dummy.f32, ldb: 1, beta: 0, c: c.f32, ldc: 2)
    #expect(c.toArray() == [0, 0, 0, 0])
}

@Test func matmulBroadcastsTheLeftBatch() {
    let a = randomTensor([2, 3, 5, 7], seed: 4)
    let b = randomTensor([7, 6], seed: 5)
    let got = a.matmul(b)
    #expect(got.shape == [2, 3, 5, 6])
    let want = naiveMatmul(Dense(shape: [30, 7], v: Dense(a).v), Dense(b))
    #expect(relativeError(got.reshaped([30, 6]), want) < 1e-6)
    let bt = randomTensor([6, 7], seed: 6)
    let got2 = a.matmul(bt, transposeOther: true)
    #expect(relativeError(got2.reshaped([30, 6]), naiveMatmul(Dense(shape: [30, 7], v: Dense(a).v), Dense(bt), transB: true)) < 1e-6)
}

@Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
func bmmMatchesPerBatchProducts(transA: Bool, transB: Bool) {
    let batch = 4, m = 5, n = 3, k = 11
    let a = randomTensor(transA ? [batch, k, m] : [batch, m, k], seed: 7)
    let b = randomTensor(transB ? [batch, n, k] : [batch, k, n], seed: 8)
    let got = a.bmm(b, transposeSelf: transA, transposeOther: transB)
    #expect(got.shape == [batch, m, n])
    for i in 0..<batch {
        let want = naiveMatmul(Dense(a[i]), Dense(b[i]), transA: transA, transB: transB)
        #expect(relativeError(got[i].contiguous(), want) < 1e-6)
    }
}

@Test func linearOverLastAxisWithStoredDtypes() {
    let x = randomTensor([2, 5, 12], seed: 9)
    let w = randomTensor([7, 12], seed: 10), b = randomTensor([7], seed: 11)
    for (wt, bt) in [(w, b as Tensor?), (w.converted(to: .f16), b.converted(to: .bf16)), (w, nil)] {
        let got = linear(x, weight: wt, bias: bt)
        var want = naiveMatmul(Dense(shape: [10, 12], v: Dense(x).v), Dense(wt.float32()), transB: true)
        if let bt { let bd = Dense(bt.float32()); for i in 0..<10 { for j in 0..<7 { want[i, j] += bd.v[j] } } }
        #expect(got.shape == [2, 5, 7])
        #expect(relativeError(got.reshaped([10, 7]), want) < 1e-6)
    }
}
