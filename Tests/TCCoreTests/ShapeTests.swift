import Foundation
import Testing
import TCCore

@Test(arguments: [0, 1, 2, 3, -1])
func concatAlongEveryAxis(axis: Int) {
    let shapes: [[Int]] = (0..<3).map { i in
        var s = [2, 3, 4, 5]
        s[axis < 0 ? 3 : axis] = i + 1
        return s
    }
    let parts = shapes.enumerated().map { randomTensor($0.element, seed: UInt64(60 + $0.offset)) }
    let got = concat(parts, axis: axis)
    let a = axis < 0 ? 3 : axis
    var offset = 0
    for p in parts {
        let slice = got.sliced(axis: a, offset..<(offset + p.dim(a))).contiguous()
        #expect(slice.toArray() == p.toArray())
        offset += p.dim(a)
    }
    #expect(offset == got.dim(a))
}

@Test func concatConvertsToTheFirstDtype() {
    let a = randomTensor([2, 3], seed: 63), b = randomTensor([2, 2], seed: 64).converted(to: .f16)
    let got = concat([a, b], axis: 1)
    #expect(got.dtype == .f32 && got.sliced(axis: 1, 3..<5).contiguous().toArray() == b.float32().toArray())
}

@Test func permutedCopiesMatchIndexMapping() {
    var rng = SplitMix64(seed: 65)
    for i in 0..<20 {
        let rank = rng.int(1...5)
        let shape = (0..<rank).map { _ in rng.int(1...5) }
        var axes = Array(0..<rank)
        axes.shuffle(using: &rng)
        for dtype in [DType.f32, .f16, .i64] {
            let t = randomTensor(shape, seed: UInt64(i)).converted(to: dtype)
            let p = t.permutedContiguous(axes)
            #expect(p.shape == axes.map { shape[$0] })
            let src = Dense(t.float32()), dst = Dense(p.float32())
            for flat in 0..<dst.v.count {
                var rem = flat, idx = [Int](repeating: 0, count: rank)
                for d in stride(from: rank - 1, through: 0, by: -1) { idx[d] = rem % p.shape[d]; rem /= p.shape[d] }
                var orig = [Int](repeating: 0, count: rank)
                for d in 0..<rank { orig[axes[d]] = idx[d] }
                #expect(dst.v[flat] == src.v[src.index(orig)], "\(shape) \(axes) \(dtype)")
            }
        }
    }
}

@Test func slicesReshapesAndGathers() {
    let t = randomTensor([6, 4, 5], seed: 66)
    let s = t.sliced(axis: 1, 1..<3).sliced(axis: 2, 2..<5)
    #expect(!s.isContiguous && s.shape == [6, 2, 3])
    let d = Dense(t)
    let c = Dense(s.contiguous())
    for i in 0..<6 { for j in 0..<2 { for k in 0..<3 { #expect(c[i, j, k] == d[i, j + 1, k + 2]) } } }
    #expect(s.reshaped([12, 3]).toArray() == s.contiguous().toArray())
    #expect(t.reshaped([-1, 5]).shape == [24, 5])
    let g = t.gather(frames: [5, 0, 5])
    #expect(g.shape == [3, 4, 5] && g[0].toArray() == t[5].toArray() && g[1].toArray() == t[0].toArray())
}

@Test func nearestUpsampleRepeatsEachPixel() {
    let x = randomTensor([2, 3, 5, 7], seed: 67)
    let got = Dense(x.upsampleNearest2x()), d = Dense(x)
    #expect(got.shape == [2, 3, 10, 14])
    for n in 0..<2 { for c in 0..<3 { for y in 0..<10 { for xx in 0..<14 {
        #expect(got[n, c, y, xx] == d[n, c, y / 2, xx / 2])
    }}}}
}

@Test func timestepEmbeddingIsCosinesFirst() {
    let t: [Float] = [0, 1, 19, 999, 10]
    let got = Dense(timestepEmbedding(t, dim: 320))
    for (n, tv) in t.enumerated() {
        for i in 0..<160 {
            // The reference computes frequencies and arguments in float32 (spec §4.4).
            let f = expf(-logf(10000) * Float(i) / 160)
            let a = Double(tv * f)
            #expect(abs(got[n, i] - cos(a)) < 2e-6 && abs(got[n, 160 + i] - sin(a)) < 2e-6)
        }
    }
}
