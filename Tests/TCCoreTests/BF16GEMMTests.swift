import CTCKernels
import Foundation
import TCCore
import Testing

/// bfloat16 rounding (nearest even) of a finite float, as vcvtne2ps2bf16 does.
private func bf16(_ x: Float) -> Double {
    let u = x.bitPattern
    return Double(Float(bitPattern: (u &+ 0x7FFF &+ ((u >> 16) & 1)) & 0xFFFF_0000))
}

/// The two single-threaded bf16 kernels behind `BF16GEMM`.
enum BF16Kernel: String, CaseIterable, Sendable {
    case avx512, amx

    var available: Bool { self == .amx ? ComputePrecision.amxAvailable : ComputePrecision.bf16Available }

    func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>,
              _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>,
              _ ldc: Int) -> Bool {
        let ta: Int32 = transA ? 1 : 0, tb: Int32 = transB ? 1 : 0
        switch self {
        case .avx512: return tck_gemm_bf16_avx512(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) != 0
        case .amx: return tck_gemm_bf16_amx(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) != 0
        }
    }
}

private struct Case: CustomStringConvertible, Sendable {
    let m: Int, n: Int, k: Int, transA: Bool, transB: Bool, alpha: Float, beta: Float
    var description: String { "\(m)×\(n)×\(k) tA \(transA) tB \(transB) α \(alpha) β \(beta)" }
}

// AVX-512: edges of the 14×32 register tile, of the 384-deep k blocks (odd k: a half pair), the
// 168-row and 3072-column cache blocks. AMX: edges of the 32×32 tile block and the 32-deep step,
// the 512-deep, 256-row and 1024-column cache blocks, whole blocks that accumulate in place (α 1,
// β 0 or 1). Both transposes, alpha/beta with beta 0 over NaNs (C must not be read).
private let cases: [Case] = [
    Case(m: 1, n: 1, k: 1, transA: false, transB: false, alpha: 1, beta: 0),
    Case(m: 13, n: 17, k: 9, transA: false, transB: false, alpha: 0.5, beta: -2),
    Case(m: 14, n: 32, k: 2, transA: true, transB: false, alpha: 1, beta: 1),
    Case(m: 15, n: 33, k: 3, transA: false, transB: true, alpha: -1, beta: 0),
    Case(m: 37, n: 70, k: 101, transA: true, transB: true, alpha: 2, beta: 0.25),
    Case(m: 169, n: 48, k: 385, transA: false, transB: false, alpha: 1, beta: 0),
    Case(m: 100, n: 16, k: 769, transA: true, transB: false, alpha: 0.125, beta: 1),
    Case(m: 29, n: 3100, k: 64, transA: false, transB: true, alpha: 1, beta: 0),
    Case(m: 200, n: 65, k: 800, transA: true, transB: true, alpha: -0.5, beta: 3),
    Case(m: 64, n: 96, k: 1056, transA: false, transB: false, alpha: 1, beta: 1),
    Case(m: 96, n: 64, k: 544, transA: false, transB: true, alpha: 1, beta: 0),
    Case(m: 257, n: 1057, k: 513, transA: false, transB: false, alpha: 1, beta: 0),
    Case(m: 33, n: 31, k: 33, transA: true, transB: true, alpha: 1, beta: 1),
]

@Test(.enabled(if: ComputePrecision.bf16Available, "this CPU has no AVX-512 BF16"), arguments: cases)
private func avx512Bf16GemmMatchesReference(_ t: Case) { checkAgainstReference(.avx512, t) }

@Test(.enabled(if: ComputePrecision.amxAvailable, "this CPU has no AMX-BF16 (or Linux does not grant its tile state)"),
      arguments: cases)
private func amxBf16GemmMatchesReference(_ t: Case) { checkAgainstReference(.amx, t) }

private func checkAgainstReference(_ kernel: BF16Kernel, _ t: Case) {
    let lda = (t.transA ? t.m : t.k) + 3, ldb = (t.transB ? t.k : t.n) + 2, ldc = t.n + 5
    let a = randomTensor([t.transA ? t.k : t.m, lda], seed: 1)
    let b = randomTensor([t.transB ? t.n : t.k, ldb], seed: 2)
    let c = randomTensor([t.m, ldc], seed: 3)
    if t.beta == 0 { for i in 0..<t.m { for j in 0..<t.n { c.f32[i * ldc + j] = .nan } } }
    let before = c.toArray()
    #expect(kernel.gemm(t.transA, t.transB, t.m, t.n, t.k, t.alpha, a.f32, lda, b.f32, ldb, t.beta, c.f32, ldc))
    let got = c.toArray()
    let ap = a.f32, bp = b.f32
    var worstExact = 0.0, worstRounded = 0.0
    for i in 0..<t.m {
        for j in 0..<ldc {
            let g = Double(got[i * ldc + j])
            guard j < t.n else {
                #expect(got[i * ldc + j] == before[i * ldc + j], "column \(j) past n was written")
                continue
            }
            var exact = 0.0, rounded = 0.0, magnitude = 0.0
            for p in 0..<t.k {
                let x = t.transA ? ap[p * lda + i] : ap[i * lda + p]
                let y = t.transB ? bp[j * ldb + p] : bp[p * ldb + j]
                exact += Double(x) * Double(y)
                rounded += bf16(x) * bf16(y)
                magnitude += abs(Double(x) * Double(y))
            }
            let c0 = t.beta == 0 ? 0 : Double(t.beta) * Double(before[i * ldc + j])
            let scale = abs(Double(t.alpha)) * magnitude + 1e-30
            // Against float32 inputs: the two roundings to bf16 (2⁻⁹ each) bound the error.
            worstExact = max(worstExact, abs(g - (Double(t.alpha) * exact + c0)) / scale)
            // Against bf16-rounded inputs: only float32 accumulation (k·2⁻²⁴) and the β·C update remain.
            worstRounded = max(worstRounded, abs(g - (Double(t.alpha) * rounded + c0))
                                   / (scale * Double(t.k + 2) * 0x1p-24 + abs(c0) * 0x1p-23 + 1e-30))
        }
    }
    #expect(worstExact < 1e-2, "relative to Σ|a·b|: \(worstExact)")
    #expect(worstRounded <= 1, "vs the bf16-rounded reference, in units of the float32 bound: \(worstRounded)")
}

@Test(.enabled(if: ComputePrecision.bf16Available, "this CPU has no AVX-512 BF16"), arguments: [false, true])
func bf16GemmDoesNotDependOnTheSplit(transA: Bool) {
    // Threaded bands (along n here, along m for the tall case) against one single-threaded call.
    for (m, n) in [(150, 700), (700, 150)] {
        let k = 300
        let a = randomTensor(transA ? [k, m] : [m, k], seed: 4), b = randomTensor([k, n], seed: 5)
        let whole = Tensor(empty: [m, n]), split = Tensor(empty: [m, n])
        tck_gemm_bf16(transA ? 1 : 0, 0, m, n, k, 1, a.f32, transA ? m : k, b.f32, n, 0, whole.f32, n)
        BF16GEMM.gemm(transA: transA, m: m, n: n, k: k, a: a.f32, lda: transA ? m : k, b: b.f32, ldb: n,
                      c: split.f32, ldc: n)
        #expect(whole.toArray() == split.toArray())
    }
}

@Test(.enabled(if: ComputePrecision.bf16Available, "this CPU has no AVX-512 BF16"))
func sgemmFollowsTheComputePrecisionScope() {
    let m = 96, n = 128, k = 256
    let a = randomTensor([m, k], seed: 6), b = randomTensor([n, k], seed: 7)
    func product(_ p: ComputePrecision?) -> [Float] {
        let c = Tensor(empty: [m, n])
        let run = { sgemm(transB: true, m: m, n: n, k: k, a: a.f32, lda: k, b: b.f32, ldb: k, c: c.f32, ldc: n) }
        if let p { withComputePrecision(p, run) } else { run() }
        return c.toArray()
    }
    let direct = Tensor(empty: [m, n])
    BF16GEMM.gemm(transB: true, m: m, n: n, k: k, a: a.f32, lda: k, b: b.f32, ldb: k, c: direct.f32, ldc: n)
    let f32 = product(.f32), bf = product(.bf16)
    #expect(bf == direct.toArray())
    #expect(f32 != bf)
    #expect(maxAbsDiff(f32, bf) < 0.2)
    // Small products stay on sgemm under bf16.
    #expect(!BF16GEMM.worthwhile(m: 4, n: 4, k: 4))
}

@Test func computePrecisionScopesNestAndReachParallelWorkers() {
    let outer = ComputePrecision.current
    withComputePrecision(.bf16) {
        #expect(ComputePrecision.current == .bf16)
        var seen = [ComputePrecision](repeating: .f32, count: 8)
        seen.withUnsafeMutableBufferPointer { s in
            let p = s.baseAddress!
            parallelFor(8) { i in p[i] = ComputePrecision.current }
        }
        #expect(seen.allSatisfy { $0 == .bf16 })
        withComputePrecision(.f32) { #expect(ComputePrecision.current == .f32) }
        #expect(ComputePrecision.current == .bf16)
    }
    #expect(ComputePrecision.current == outer)
}
