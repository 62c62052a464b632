import Foundation

extension KernelBenchmarks {
    /// The matrix products of the UNet at its real shapes in float32 (OpenBLAS) and in bf16
    /// (`BF16GEMM`), side by side, plus whole kernels run under `withComputePrecision(.bf16)`.
    static var precisionKernels: [KernelBenchmark] {
        let t = 16, hw = 40 * 64
        let convFlops = 2 * Double(t * hw) * Double(320 * 320 * 9)
        let convBytes = 4 * Double(2 * t * 320 * hw + 320 * 320 * 9)
        let attentionFlops = 4 * Double(t * 5) * Double(hw * hw) * 64
        let attentionBytes = 4 * Double(4 * t * hw * 320)
        func gemm(_ name: String, _ shape: String, m: Int, n: Int, k: Int, transB: Bool) -> [KernelBenchmark] {
            ComputePrecision.allCases.map { p in
                KernelBenchmark(name: "\(name)_\(p.rawValue)", shape: "\(shape), \(m)×\(n)×\(k)\(transB ? " Bᵀ" : "")",
                                flops: 2 * Double(m) * Double(n) * Double(k), bytes: 4 * Double(m * k + k * n + m * n)) {
                    let a = Tensor(empty: [m, k]), b = Tensor(empty: transB ? [n, k] : [k, n]), c = Tensor(empty: [m, n])
                    fill(a, 1)
                    fill(b, 2)
                    return {
                        withComputePrecision(p) {
                            sgemm(transB: transB, m: m, n: n, k: k, a: a.f32, lda: k, b: b.f32, ldb: transB ? k : n,
                                  c: c.f32, ldc: n)
                        }
                    }
                }
            }
        }
        let square = 3072
        var all = gemm("gemm_square", "square", m: square, n: square, k: square, transB: false)
        all += gemm("gemm_conv3x3", "conv3x3 320 ch as im2col, \(t)×40×64", m: 320, n: t * hw, k: 320 * 9, transB: false)
        all += gemm("gemm_linear", "linear \(t * hw)×320 → 2560", m: t * hw, n: 2560, k: 320, transB: true)
        all += gemm("gemm_attention_qk", "attention q·kᵀ, one head", m: hw, n: hw, k: 64, transB: true)
        return all + [
                KernelBenchmark(name: "conv3x3_bf16", shape: "320→320, 3×3, \(t)×40×64 under bf16",
                                flops: convFlops, bytes: convBytes) {
                    let x = Tensor(empty: [t, 320, 40, 64]), w = Tensor(empty: [320, 320, 3, 3]), b = Tensor(empty: [320])
                    fill(x, 3)
                    fill(w, 4)
                    fill(b, 5)
                    return { _ = withComputePrecision(.bf16) { conv2d(x, weight: w, bias: b, stride: 1, padding: .same(1)) } }
                },
                KernelBenchmark(name: "attention_spatial_bf16", shape: "\(t) frames × 5 heads, \(hw)×\(hw) tokens, d 64 under bf16",
                                flops: attentionFlops, bytes: attentionBytes) {
                    let q = Tensor(empty: [t, hw, 320]), k = Tensor(empty: [t, hw, 320]), v = Tensor(empty: [t, hw, 320])
                    fill(q, 6)
                    fill(k, 7)
                    fill(v, 8)
                    return { _ = withComputePrecision(.bf16) { attention(q: q, k: k, v: v, heads: 5, scale: 0.125) } }
                },
            ]
    }

    /// Deterministic values in ±0.5 (a linear congruential sequence).
    private static func fill(_ x: Tensor, _ seed: UInt64) {
        var s = seed &* 0x9E37_79B9_7F4A_7C15
        let p = x.f32
        for i in 0..<x.count {
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            p[i] = Float(Int32(truncatingIfNeeded: s >> 32)) / Float(Int32.max) * 0.5
        }
    }
}
