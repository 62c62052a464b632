import COpenBLAS
import Foundation

/// A kernel timed at one of ToonCrafter's real shapes (spec §2, §5.2). FLOPs are counted as
/// torch's flop counter counts them (2 per multiply-add of convolutions, linear layers and
/// attention products, zero padding included); norms count the arithmetic per element.
public struct KernelBenchmark {
    public let name: String
    public let shape: String
    public let flops: Double
    /// Bytes the kernel must read and write at least (inputs and output once), for memory-bound ones.
    public let bytes: Double
    /// Builds the inputs and returns the timed body (inputs are made once, outside the timing).
    let prepare: () -> () -> Void

    public init(name: String, shape: String, flops: Double, bytes: Double, prepare: @escaping () -> () -> Void) {
        self.name = name
        self.shape = shape
        self.flops = flops
        self.bytes = bytes
        self.prepare = prepare
    }
}

public struct BenchmarkMeasurement: Sendable {
    public let name: String
    public let shape: String
    public let flops: Double
    public let bytes: Double
    /// Best of the timed runs (wall clock).
    public let seconds: Double
    /// CPU time (all threads) of that run: with `threads` busy cores it is `threads` × `seconds`;
    /// less means the run waited (for memory, for a busy machine, or idle workers).
    public let cpuSeconds: Double
    public let runs: Int
    /// Peak of live tensor memory during the runs beyond what the inputs hold.
    public let workingBytes: Int

    public var gflopsPerSecond: Double { flops / seconds / 1e9 }
    public var gigabytesPerSecond: Double { bytes / seconds / 1e9 }
}

public enum KernelBenchmarks {
    /// OpenBLAS sgemm (row-major, no transposes) over a few square sizes; the best rate is the
    /// machine's peak that every other benchmark is compared with.
    public static func sgemmPeak(sizes: [Int] = [1024, 2048, 3072], repeats: Int = 3) -> BenchmarkMeasurement {
        var best: BenchmarkMeasurement?
        for n in sizes {
            let b = KernelBenchmark(name: "sgemm", shape: "\(n)×\(n)×\(n)", flops: 2 * pow(Double(n), 3),
                                    bytes: 12 * Double(n * n)) {
                let a = Tensor(repeating: 0.5, [n, n]), b = Tensor(repeating: 0.25, [n, n]), c = Tensor(empty: [n, n])
                return {
                    withComputePrecision(.f32) { sgemm(m: n, n: n, k: n, a: a.f32, lda: n, b: b.f32, ldb: n, c: c.f32, ldc: n) }
                }
            }
            let m = measure(b, repeats: repeats)
            if best == nil || m.gflopsPerSecond > best!.gflopsPerSecond { best = m }
        }
        return best!
    }

    public static func measure(_ b: KernelBenchmark, repeats: Int) -> BenchmarkMeasurement {
        let body = b.prepare()
        body()  // warm-up: page faults, OpenBLAS buffers, caches
        MemoryStats.shared.resetPeak()
        let base = MemoryStats.shared.liveBytes
        var best = Double.infinity, bestCPU = 0.0
        for _ in 0..<max(1, repeats) {
            let c0 = cpuSeconds()
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            let wall = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            if wall < best { best = wall; bestCPU = cpuSeconds() - c0 }
        }
        return BenchmarkMeasurement(name: b.name, shape: b.shape, flops: b.flops, bytes: b.bytes, seconds: best,
                                    cpuSeconds: bestCPU,
                                    runs: max(1, repeats), workingBytes: MemoryStats.shared.peakBytes - base)
    }

    /// User + system CPU time of this process so far.
    public static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    /// Peak resident set size of this process (Linux reports ru_maxrss in KiB).
    public static func peakRSSBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }

    /// The kernels of one UNet forward at the real config (B = 1, T = 16, 40×64 latent) and the
    /// decoder's 80×128 fusion attention, as `name → benchmark`.
    public static var all: [KernelBenchmark] {
        let t = 16, h = 40, w = 64, hw = h * w
        func floats(_ n: Int) -> Double { Double(n) * 4 }
        func rand(_ shape: [Int], _ seed: UInt64) -> Tensor {
            var s = seed &* 0x9E37_79B9_7F4A_7C15
            let n = shape.reduce(1, *)
            let out = Tensor(empty: shape)
            let p = out.f32
            for i in 0..<n {
                s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                p[i] = Float(Int32(truncatingIfNeeded: s >> 32)) / Float(Int32.max) * 0.5
            }
            return out
        }
        func attn(_ name: String, batch: Int, lq: Int, lk: Int, heads: Int, kvBatch: Int? = nil, shape: String) -> KernelBenchmark {
            let d = 64
            let traffic = floats(2 * batch * lq * heads * d + 2 * (kvBatch ?? batch) * lk * heads * d)
            return KernelBenchmark(name: name, shape: shape, flops: 4 * Double(batch * heads * lq * lk * d), bytes: traffic) {
                let q = rand([batch, lq, heads * d], 1), k = rand([kvBatch ?? batch, lk, heads * d], 2)
                let v = rand([kvBatch ?? batch, lk, heads * d], 3)
                return { _ = attention(q: q, k: k, v: v, heads: heads, scale: 0.125) }
            }
        }
        return [
            KernelBenchmark(name: "conv3x3", shape: "320→320, 3×3, \(t)×\(h)×\(w)",
                            flops: 2 * Double(t * hw * 320 * 320 * 9), bytes: floats(2 * t * 320 * hw + 320 * 320 * 9)) {
                let x = rand([t, 320, h, w], 1), wt = rand([320, 320, 3, 3], 2), b = rand([320], 3)
                return { _ = conv2d(x, weight: wt, bias: b, stride: 1, padding: .same(1)) }
            },
            KernelBenchmark(name: "conv3x3_level2", shape: "1280→1280, 3×3, \(t)×10×16",
                            flops: 2 * Double(t * 160 * 1280 * 1280 * 9), bytes: floats(2 * t * 1280 * 160 + 1280 * 1280 * 9)) {
                let x = rand([t, 1280, 10, 16], 1), wt = rand([1280, 1280, 3, 3], 2), b = rand([1280], 3)
                return { _ = conv2d(x, weight: wt, bias: b, stride: 1, padding: .same(1)) }
            },
            KernelBenchmark(name: "conv3x3_level3", shape: "1280→1280, 3×3, \(t)×5×8",
                            flops: 2 * Double(t * 40 * 1280 * 1280 * 9), bytes: floats(2 * t * 1280 * 40 + 1280 * 1280 * 9)) {
                let x = rand([t, 1280, 5, 8], 1), wt = rand([1280, 1280, 3, 3], 2), b = rand([1280], 3)
                return { _ = conv2d(x, weight: wt, bias: b, stride: 1, padding: .same(1)) }
            },
            KernelBenchmark(name: "conv3x3_decoder", shape: "128→128, 3×3, 2×320×512 (decoder level 0)",
                            flops: 2 * Double(2 * 163_840 * 128 * 128 * 9), bytes: floats(4 * 128 * 163_840 + 128 * 128 * 9)) {
                let x = rand([2, 128, 320, 512], 1), wt = rand([128, 128, 3, 3], 2), b = rand([128], 3)
                return { _ = conv2d(x, weight: wt, bias: b, stride: 1, padding: .same(1)) }
            },
            KernelBenchmark(name: "conv3x3_decoder_l1", shape: "256→256, 3×3, 2×160×256 (decoder level 1)",
                            flops: 2 * Double(2 * 40_960 * 256 * 256 * 9), bytes: floats(4 * 256 * 40_960 + 256 * 256 * 9)) {
                let x = rand([2, 256, 160, 256], 1), wt = rand([256, 256, 3, 3], 2), b = rand([256], 3)
                return { _ = conv2d(x, weight: wt, bias: b, stride: 1, padding: .same(1)) }
            },
            KernelBenchmark(name: "conv_upsample_decoder", shape: "256→256, 2× nearest then 3×3, 2×160×256 → 320×512",
                            flops: 2 * Double(2 * 4 * 40_960 * 256 * 256 * 4),
                            bytes: floats(2 * 256 * 40_960 + 2 * 256 * 163_840 + 256 * 256 * 9)) {
                let x = rand([2, 256, 160, 256], 1), wt = rand([256, 256, 3, 3], 2), b = rand([256], 3)
                return { _ = conv2dNearestUpsampled2x(x, weight: wt, bias: b) }
            },
            KernelBenchmark(name: "conv3x3_down", shape: "320→320, 3×3 stride 2, \(t)×\(h)×\(w)",
                            flops: 2 * Double(t * (hw / 4) * 320 * 320 * 9),
                            bytes: floats(t * 320 * hw + t * 320 * hw / 4 + 320 * 320 * 9)) {
                let x = rand([t, 320, h, w], 1), wt = rand([320, 320, 3, 3], 2), b = rand([320], 3)
                return { _ = conv2d(x, weight: wt, bias: b, stride: 2, padding: .same(1)) }
            },
            KernelBenchmark(name: "conv1x1", shape: "640→320, 1×1, \(t)×\(h)×\(w)",
                            flops: 2 * Double(t * hw * 640 * 320), bytes: floats(t * 960 * hw + 640 * 320)) {
                let x = rand([t, 640, h, w], 1), wt = rand([320, 640, 1, 1], 2), b = rand([320], 3)
                return { _ = conv2d(x, weight: wt, bias: b) }
            },
            KernelBenchmark(name: "temporal_conv", shape: "320→320, k=3 in time, \(t)×\(h)×\(w)",
                            flops: 2 * Double(t * hw * 320 * 320 * 3), bytes: floats(2 * t * 320 * hw + 320 * 320 * 3)) {
                let x = rand([t, 320, h, w], 1), wt = rand([320, 320, 3, 1, 1], 2), b = rand([320], 3)
                return { _ = temporalConv(x, weight: wt, bias: b, frames: t, pad: 1) }
            },
            KernelBenchmark(name: "temporal_conv_level2", shape: "1280→1280, k=3 in time, \(t)×10×16",
                            flops: 2 * Double(t * 160 * 1280 * 1280 * 3), bytes: floats(2 * t * 1280 * 160 + 1280 * 1280 * 3)) {
                let x = rand([t, 1280, 10, 16], 1), wt = rand([1280, 1280, 3, 1, 1], 2), b = rand([1280], 3)
                return { _ = temporalConv(x, weight: wt, bias: b, frames: t, pad: 1) }
            },
            KernelBenchmark(name: "temporal_conv_decoder", shape: "128→128, k=3 in time, 4×320×512 (decoder level 0)",
                            flops: 2 * Double(4 * 163_840 * 128 * 128 * 3), bytes: floats(8 * 128 * 163_840 + 128 * 128 * 3)) {
                let x = rand([4, 128, 320, 512], 1), wt = rand([128, 128, 3, 1, 1], 2), b = rand([128], 3)
                return { _ = temporalConv(x, weight: wt, bias: b, frames: 4, pad: 1) }
            },
            KernelBenchmark(name: "linear_geglu", shape: "\(t * hw)×320 → 2560",
                            flops: 2 * Double(t * hw * 320 * 2560), bytes: floats(t * hw * (320 + 2560) + 2560 * 320)) {
                let x = rand([t * hw, 320], 1), wt = rand([2560, 320], 2), b = rand([2560], 3)
                return { _ = linear(x, weight: wt, bias: b) }
            },
            attn("attention_spatial", batch: t, lq: hw, lk: hw, heads: 5,
                 shape: "\(t) frames × 5 heads, \(hw)×\(hw) tokens, d 64"),
            attn("attention_spatial_l1", batch: t, lq: hw / 4, lk: hw / 4, heads: 10,
                 shape: "\(t) frames × 10 heads, \(hw / 4)×\(hw / 4) tokens, d 64 (level 1)"),
            attn("attention_cross", batch: t, lq: hw, lk: 77, heads: 5,
                 shape: "\(t) frames × 5 heads, \(hw) queries × 77 keys, d 64"),
            attn("attention_image", batch: t, lq: hw, lk: t, heads: 5,
                 shape: "\(t) frames × 5 heads, \(hw) queries × \(t) image tokens, d 64"),
            attn("attention_temporal", batch: hw, lq: t, lk: t, heads: 5,
                 shape: "\(hw) positions × 5 heads, \(t)×\(t) tokens, d 64"),
            attn("attention_fusion", batch: 1, lq: 10240, lk: 20480, heads: 8, kvBatch: 1,
                 shape: "1 frame × 8 heads, 10240 queries × 20480 shared keys, d 64"),
            KernelBenchmark(name: "groupnorm_silu", shape: "320 ch, 32 groups, \(t)×\(h)×\(w), per frame",
                            flops: 8 * Double(t * 320 * hw), bytes: floats(2 * t * 320 * hw)) {
                let x = rand([t, 320, h, w], 1), g = rand([320], 2), b = rand([320], 3)
                return { _ = groupNorm(x, groups: 32, weight: g, bias: b, eps: 1e-5, silu: true) }
            },
            KernelBenchmark(name: "groupnorm_span", shape: "320 ch, 32 groups, stats over \(t) frames",
                            flops: 6 * Double(t * 320 * hw), bytes: floats(2 * t * 320 * hw)) {
                let x = rand([t, 320, h, w], 1), g = rand([320], 2), b = rand([320], 3)
                return { _ = groupNorm(x, groups: 32, weight: g, bias: b, eps: 1e-6, span: t) }
            },
            KernelBenchmark(name: "layernorm", shape: "\(t * hw)×320 tokens",
                            flops: 8 * Double(t * hw * 320), bytes: floats(2 * t * hw * 320)) {
                let x = rand([t * hw, 320], 1), g = rand([320], 2), b = rand([320], 3)
                return { _ = layerNorm(x, weight: g, bias: b, eps: 1e-5) }
            },
            KernelBenchmark(name: "geglu", shape: "\(t * hw / 4)×(2×1280) → 1280 (a quarter of level 0)",
                            flops: 20 * Double(t * hw / 4 * 1280), bytes: floats(3 * t * hw / 4 * 1280)) {
                let x = rand([t * hw / 4, 2560], 1)
                return { _ = x.geglu() }
            },
            KernelBenchmark(name: "residual_add", shape: "\(t)×320×\(h)×\(w) + same",
                            flops: Double(t * 320 * hw), bytes: floats(3 * t * 320 * hw)) {
                let x = rand([t, 320, h, w], 1), y = rand([t, 320, h, w], 2)
                return { _ = x + y }
            },
        ] + precisionKernels
    }
}
