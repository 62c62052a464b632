import Foundation
import Testing
import TCCore

/// bf16 from the definition: the nearest representable value, ties to the even mantissa.
func naiveBF16(_ f: Float) -> UInt16 {
    if f.isNaN { return 0x7FC0 }
    let u = f.bitPattern
    let lo = UInt16(u >> 16), hi = lo &+ 1
    let dl = abs(Double(f) - Double(Float(bitPattern: UInt32(lo) << 16)))
    let dh = abs(Double(f) - Double(Float(bitPattern: UInt32(hi) << 16)))
    if Float(bitPattern: UInt32(hi) << 16).isNaN { return lo }  // rounding up past the largest finite
    if dl < dh { return lo }
    if dh < dl { return hi }
    return lo & 1 == 0 ? lo : hi
}

@Test func bf16RoundsToNearestEven() {
    var rng = SplitMix64(seed: 70)
    var values: [Float] = [0, -0, 1, -1, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
                           Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x3F80_8001)]
    for _ in 0..<20000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
    for v in values where !v.isNaN {
        let got = floatToBF16(v)
        let want = naiveBF16(v)
        // Overflow to infinity where the nearest-even rule leaves the finite range (as PyTorch).
        if Float(bitPattern: UInt32(want) << 16).isFinite && !bf16ToFloat(got).isFinite { continue }
        #expect(got == want, "\(v) (\(String(v.bitPattern, radix: 16)))")
    }
    #expect(bf16ToFloat(floatToBF16(.nan)).isNaN)
}

@Test func storageDtypesRoundTrip() {
    let x = randomTensor([3, 5, 7], seed: 71, range: -100...100)
    for dtype in [DType.f16, .bf16, .f64] {
        let y = x.converted(to: dtype)
        #expect(y.dtype == dtype && y.shape == x.shape)
        let back = y.float32().toArray(), orig = x.toArray()
        let tol: Float = dtype == .f16 ? 1e-3 : dtype == .bf16 ? 8e-3 : 0
        for i in 0..<orig.count { #expect(abs(back[i] - orig[i]) <= tol * abs(orig[i])) }
        // float32 → f16 is IEEE round-to-nearest-even (Swift's Float16 conversion).
        if dtype == .f16 {
            let h = y.typedPointer(Float16.self)
            for i in 0..<orig.count { #expect(h[i] == Float16(orig[i])) }
        }
    }
    let ints = Tensor(ints: [3, -2, 7], [3])
    #expect(ints.dtype == .i64 && ints.toInts() == [3, -2, 7] && ints.toArray() == [3, -2, 7])
}

@Test func dlpackCodesRoundTrip() {
    for d in DType.allCases {
        #expect(DType(dlpackCode: d.dlpack.code, bits: d.dlpack.bits) == d)
        #expect(Int(d.dlpack.bits) == d.byteSize * 8)
    }
    let t = randomTensor([2, 3, 4], seed: 72).permuted([2, 0, 1])
    #expect(t.strides == [1, 12, 4] && t.shape == [4, 2, 3])
}

/// The same inputs give bit-identical outputs run after run at a fixed thread count (our loops
/// partition statically; OpenBLAS splits rows/columns, never the reduction).
@Test func kernelsAreDeterministic() {
    let x = randomTensor([4, 32, 20, 24], seed: 73)
    let w = randomTensor([16, 32, 3, 3], seed: 74)
    let q = randomTensor([2, 300, 64], seed: 75), k = randomTensor([2, 500, 64], seed: 76)
    func run() -> [[Float]] {
        [conv2d(x, weight: w, bias: nil, stride: 1, padding: .same(1)).toArray(),
         groupNorm(x, groups: 8, weight: nil, bias: nil, eps: 1e-5, span: 2, silu: true).toArray(),
         attention(q: q, k: k, v: k, heads: 4, scale: 0.125, chunk: 128).toArray(),
         temporalConv(x, weight: randomTensor([32, 32, 3, 1, 1], seed: 77), bias: nil, frames: 4, pad: 1).toArray(),
         linear(q, weight: randomTensor([96, 64], seed: 78), bias: nil).toArray(),
         interpolate(x, height: 11, width: 37, mode: .bicubic, alignCorners: true).toArray()]
    }
    let a = run(), b = run()
    for (i, (ra, rb)) in zip(a, b).enumerated() {
        #expect(ra.map(\.bitPattern) == rb.map(\.bitPattern), "kernel \(i)")
    }
}
