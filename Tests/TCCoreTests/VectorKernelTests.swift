import CTCKernels
import Foundation
import Testing
import TCCore

// The C kernels' portable bodies and the dispatched (AVX2 on capable CPUs) ones, each against
// float64 references; the Swift-level tests cover them again through TCCore's API.

@Test func softmaxBodiesMatchDefinition() {
    for n in [1, 7, 8, 16, 77, 1000] {
        let x = randomTensor([3, n], seed: UInt64(n), range: -60...60)
        let want = naiveSoftmaxRows(Dense(x))
        for generic in [true, false] {
            let y = x.copy()
            if generic { tck_softmax_rows_generic(y.f32, 3, n, n) } else { tck_softmax_rows(y.f32, 3, n, n) }
            #expect(relativeError(y, want) < 1e-6, "n \(n) generic \(generic)")
        }
    }
}

@Test func siluAndNormApplyBodiesMatchDefinition() {
    let x = randomTensor([1003], seed: 80, range: -100...100)
    let d = Dense(x)
    let silu = Dense(shape: d.shape, v: d.v.map { $0 / (1 + exp(-$0)) })
    let norm = Dense(shape: d.shape, v: d.v.map { v -> Double in
        let y = (v - 0.75) * 1.5 - 0.25
        return y / (1 + exp(-y))
    })
    for generic in [true, false] {
        let y = Tensor(empty: [1003]), z = Tensor(empty: [1003])
        if generic {
            tck_silu_generic(x.f32, y.f32, 1003)
            tck_norm_apply_generic(x.f32, z.f32, 1003, 0.75, 0, 1.5, -0.25, 1)
        } else {
            tck_silu(x.f32, y.f32, 1003)
            tck_norm_apply(x.f32, z.f32, 1003, 0.75, 0, 1.5, -0.25, 1)
        }
        #expect(relativeError(y, silu) < 1e-6 && relativeError(z, norm) < 1e-6, "generic \(generic)")
    }
}

@Test func statisticsBodiesAreFloat64Sums() {
    let x = randomTensor([12345], seed: 81, range: 990...1010)
    let d = Dense(x).v
    let mean = d.reduce(0, +) / Double(d.count)
    let sq = d.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
    for (s, q) in [(tck_sum_generic(x.f32, 12345), tck_sum_sq_dev_generic(x.f32, 12345, mean)),
                   (tck_sum(x.f32, 12345), tck_sum_sq_dev(x.f32, 12345, mean))] {
        #expect(abs(s - mean * Double(d.count)) < 1e-6 && abs(q - sq) / sq < 1e-12)
    }
}

@Test(arguments: [(16, 16, 64, 64), (5, 9, 3, 4), (13, 64, 72, 70), (64, 33, 8, 128), (1, 1, 1, 1), (3, 50, 200, 10)])
func smallAttentionBodiesMatchDefinition(lq: Int, lk: Int, d: Int, dv: Int) {
    let q = randomTensor([1, lq, d], seed: 82, range: -2...2), k = randomTensor([1, lk, d], seed: 83, range: -2...2)
    let v = randomTensor([1, lk, dv], seed: 84)
    let want = naiveAttention(Dense(q), Dense(k), Dense(v), heads: 1, scale: 0.3)
    for generic in [true, false] {
        let o = Tensor(empty: [1, lq, dv])
        if generic {
            tck_small_attention_generic(q.f32, d, k.f32, d, v.f32, dv, o.f32, dv, lq, lk, d, dv, 0.3)
        } else {
            tck_small_attention(q.f32, d, k.f32, d, v.f32, dv, o.f32, dv, lq, lk, d, dv, 0.3)
        }
        #expect(relativeError(o, want) < 2e-6, "generic \(generic)")
    }
}

@Test func geluAndGegluBodiesMatchErfDefinition() {
    let x = randomTensor([1001], seed: 85, range: -12...12)
    let d = Dense(x)
    let gelu = Dense(shape: d.shape, v: d.v.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) })
    let rows = 7, width = 13
    let gx = randomTensor([rows, 2 * width], seed: 86, range: -6...6)
    let gd = Dense(gx)
    var geglu = Dense(zeros: [rows, width])
    for r in 0..<rows { for j in 0..<width {
        let g = gd.v[r * 2 * width + width + j]
        geglu.v[r * width + j] = gd.v[r * 2 * width + j] * 0.5 * g * (1 + erf(g / 2.0.squareRoot()))
    }}
    for generic in [true, false] {
        let y = Tensor(empty: [1001]), z = Tensor(empty: [rows, width])
        if generic {
            tck_gelu_generic(x.f32, y.f32, 1001)
            tck_geglu_generic(gx.f32, z.f32, rows, width)
        } else {
            tck_gelu(x.f32, y.f32, 1001)
            tck_geglu(gx.f32, z.f32, rows, width)
        }
        #expect(relativeError(y, gelu) < 1e-6 && relativeError(z, geglu) < 1e-6, "generic \(generic)")
    }
}

@Test func halfConversionsAreExactRoundToNearestEven() {
    // Every half value, through the vector body and (the last 7) the portable tail.
    let halves = (0..<65536).map { UInt16($0) } + [0x7BFF, 0x0001, 0x8001, 0x03FF, 0x7C00, 0xFC00, 0x3C00]
    var floats = [Float](repeating: 0, count: halves.count)
    tck_f16_to_f32(halves, &floats, halves.count)
    for (h, f) in zip(halves, floats) {
        let want = Float(Float16(bitPattern: h))
        #expect(f.bitPattern == want.bitPattern || (f.isNaN && want.isNaN), "half \(String(h, radix: 16))")
    }
    var rng = SplitMix64(seed: 87)
    var values = (0..<100_003).map { i -> Float in
        let bits = UInt32(truncatingIfNeeded: rng.next())
        // Every fourth value in half's range (subnormals included), the rest anywhere.
        return Float(bitPattern: i % 4 == 0 ? (bits & 0x8000_0000) | (0x3300_0000 + bits % 0x1480_0000) : bits)
    }
    values += [65504, 65519.99, 65520, -65520, 5.96e-8, 2.98e-8, 2.9802326e-8, 0, -0]
    var out = [UInt16](repeating: 0, count: values.count)
    tck_f32_to_f16(values, &out, values.count)
    for (v, h) in zip(values, out) where !v.isNaN {
        #expect(h == Float16(v).bitPattern, "\(v)")
    }
}

/// The key-blocked attention on the AVX2 tiles, whichever tiles `attention` picks on this CPU:
/// partial query groups, row tiles, key blocks and strips; strided rows; value widths of 16k.
@Test(.enabled(if: tck_has_avx2() != 0, "this CPU has no AVX2 + FMA"),
      arguments: [(437, 1000, 40, 64), (7, 2561, 64, 16), (50, 300, 64, 128), (1, 257, 3, 48), (385, 513, 17, 32)])
func keyBlockedAttentionAVX2TilesMatchDefinition(lq: Int, lk: Int, d: Int, dv: Int) {
    let pad = 5
    let q = randomTensor([1, lq, d + pad], seed: 87, range: -3...3)
    let k = randomTensor([1, lk, d], seed: 88, range: -3...3), v = randomTensor([1, lk, dv + pad], seed: 89)
    let kt = Tensor(empty: [tck_flash_packed_keys_count(lk, d)])
    tck_flash_pack_keys(k.f32, d, lk, d, kt.f32)
    let o = Tensor(empty: [1, lq, dv + pad])
    let scale = 1 / Float(d).squareRoot()
    #expect(tck_flash_attention_avx2(q.f32 + pad, d + pad, kt.f32, lk, v.f32, dv + pad, o.f32, dv + pad, lq, d, dv,
                                     scale) == 1)
    let want = naiveAttention(Dense(q.sliced(axis: 2, pad..<(d + pad)).contiguous()), Dense(k),
                              Dense(v.sliced(axis: 2, 0..<dv).contiguous()), heads: 1, scale: Double(scale))
    #expect(relativeError(o.sliced(axis: 2, 0..<dv).contiguous(), want) < 2e-6)
    #expect(tck_flash_attention_avx2(q.f32, d, kt.f32, lk, v.f32, dv, o.f32, dv, lq, d, 24, scale) == 0,
            "value widths other than 16k are refused")
}

/// The Winograd input and output transforms: the AVX2 bodies (eight tiles at a time, rows then
/// columns) against the portable ones (one tile, columns then rows), which round differently.
@Test(arguments: [3, 2])
func winogradTransformBodiesAgree(kernel k: Int) {
    let c = 3, h = 11, w = 21, tw = 11, th = 6, t = th * tw, xis = (k + 1) * (k + 1)
    let x = randomTensor([c, h, w], seed: 90, range: -3...3)
    let v = Tensor(zeros: [xis * c * t]), vg = Tensor(zeros: [xis * c * t])
    tck_winograd_input(x.f32, k, h, w, 1, 1, tw, 0, th, 0, c, v.f32, t, c * t)
    tck_winograd_input_generic(x.f32, k, h, w, 1, 1, tw, 0, th, 0, c, vg.f32, t, c * t)
    #expect(relativeError(v, Dense(vg)) < 1e-6)
    let o = 2, m = randomTensor([xis * o * t], seed: 91), bias = randomTensor([o], seed: 92)
    let y = Tensor(zeros: [o, h, w]), yg = Tensor(zeros: [o, h, w])
    tck_winograd_output(m.f32, k, t, o * t, tw, 0, th, 0, o, bias.f32, y.f32, h, w)
    tck_winograd_output_generic(m.f32, k, t, o * t, tw, 0, th, 0, o, bias.f32, yg.f32, h, w)
    #expect(relativeError(y, Dense(yg)) < 1e-6)
}
