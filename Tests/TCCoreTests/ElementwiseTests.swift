import Testing
import TCCore

/// a ∘ b with NumPy broadcasting, by explicit index arithmetic.
func naiveBroadcast(_ a: Dense, _ b: Dense, _ f: (Double, Double) -> Double) -> Dense {
    let r = max(a.shape.count, b.shape.count)
    let sa = [Int](repeating: 1, count: r - a.shape.count) + a.shape
    let sb = [Int](repeating: 1, count: r - b.shape.count) + b.shape
    let shape = zip(sa, sb).map { max($0, $1) }
    var out = Dense(zeros: shape)
    for flat in 0..<out.v.count {
        var rem = flat, ia = 0, ib = 0, ma = 1, mb = 1
        for axis in stride(from: r - 1, through: 0, by: -1) {
            let i = rem % shape[axis]
            rem /= shape[axis]
            ia += (sa[axis] == 1 ? 0 : i) * ma
            ib += (sb[axis] == 1 ? 0 : i) * mb
            ma *= sa[axis]
            mb *= sb[axis]
        }
        out.v[flat] = f(a.v[ia], b.v[ib])
    }
    return out
}

@Test(arguments: [([2, 1, 5], [3, 1]), ([4, 3], [4, 3]), ([3], [2, 4, 3]), ([2, 3, 1, 4], [1, 3, 5, 1]), ([], [2, 2]), ([6, 1], [1])])
func broadcastingBinaryOps(_ sa: [Int], _ sb: [Int]) {
    let a = randomTensor(sa, seed: 50), b = randomTensor(sb, seed: 51, range: 0.5...2)
    let ops: [(BinaryOp, (Double, Double) -> Double)] = [
        (.add, +), (.sub, -), (.mul, *), (.div, /), (.max, { max($0, $1) }), (.min, { min($0, $1) }),
    ]
    for (op, f) in ops {
        let got = a.binary(op, b)
        #expect(relativeError(got, naiveBroadcast(Dense(a), Dense(b), f)) < 1e-6, "\(op) \(sa) \(sb)")
    }
}

@Test func binaryOpsOnViewsAndInPlace() {
    let base = randomTensor([4, 6, 5], seed: 52)
    let a = base.permuted([2, 0, 1])                  // (5, 4, 6), strided
    let b = randomTensor([6], seed: 53)
    let want = naiveBroadcast(Dense(a.contiguous()), Dense(b), +)
    #expect(relativeError(a + b, want) < 1e-6)
    var c = a.contiguous()
    c += b
    #expect(relativeError(c, want) < 1e-6)
    c -= b
    #expect(relativeError(c, Dense(a.contiguous())) < 1e-6)
    c *= Tensor([2], [1])
    #expect(relativeError(c, Dense(shape: [5, 4, 6], v: Dense(a.contiguous()).v.map { $0 * 2 })) < 1e-6)
    let s = ((a * 3) + 1 - 0.5) * 2
    #expect(relativeError(s, Dense(shape: [5, 4, 6], v: Dense(a.contiguous()).v.map { (($0 * 3) + 0.5) * 2 })) < 1e-6)
    let m = a.contiguous()
    m.axpbyInPlace(alpha: 0.25, a.contiguous(), beta: -1.5)
    #expect(relativeError(m, Dense(shape: [5, 4, 6], v: Dense(a.contiguous()).v.map { -1.25 * $0 })) < 1e-6)
}
