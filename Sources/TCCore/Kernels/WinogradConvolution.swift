import CTCKernels
import Foundation

/// How `conv2d` computes a convolution.
public enum ConvolutionMethod: Sendable {
    /// Winograd F(2×2, 3×3) or F(2×2, 2×2) for 3×3 or 2×2 stride-1 convolutions between at least
    /// `winogradMinChannels` channels, else im2col and GEMM. TCGRAPH_CONV=im2col forces the latter
    /// (benchmarks), and so does bf16 arithmetic on a CPU that has it.
    case automatic
    /// Unfolded patches times the weight matrix (any kernel, stride and padding).
    case im2col
    /// Winograd; 3×3 or 2×2 kernels with stride 1 only.
    case winograd
}

/// Below this many input or output channels the transforms cost more than the fewer multiply-adds
/// save (the VAE's 3-channel input conv, the UNet's 8-channel one).
let winogradMinChannels = 32

private let winogradAllowed = ProcessInfo.processInfo.environment["TCGRAPH_CONV"] != "im2col"

func usesWinograd(_ method: ConvolutionMethod, c: Int, o: Int, kh: Int, kw: Int, stride: Int) -> Bool {
    guard kh == kw && (kh == 3 || kh == 2) && stride == 1 else {
        precondition(method != .winograd, "conv2d: Winograd needs a 3×3 or 2×2 kernel and stride 1")
        return false
    }
    switch method {
    case .winograd: return true
    case .im2col: return false
    case .automatic:
        // Under bf16 arithmetic the im2col path keeps its measured speed and deviation: Winograd's
        // transformed operands rounded to bf16 have not been measured on bf16 hardware.
        if ComputePrecision.current == .bf16 && ComputePrecision.bf16Available { return false }
        return winogradAllowed && c >= winogradMinChannels && o >= winogradMinChannels
    }
}

/// Transformed inputs and products of one block of tile rows stay under this many bytes each
/// (but a block holds at least `winogradMinTiles` tiles, so the (k + 1)² GEMMs stay wide).
private let winogradBudget = 32 << 20
private let winogradMinTiles = 512

/// k×k (k = 3 or 2), stride-1 convolution of src (N, C, H, W) into out (N, O, Ho, Wo) by Winograd's
/// F(2×2, k×k) (transforms in winograd.c): each 2×2 output tile is Aᵀ[U ⊙ V]A, where U = G g Gᵀ are
/// the transformed weights and V = Bᵀ d B the transformed (k+1)×(k+1) input patches. Over all tiles
/// of a block that is (k+1)² GEMMs, U[ξ] (O × C) · V[ξ] (C × tiles): per output pixel and channel
/// pair 4 multiply-adds instead of 9 (k = 3), or 2.25 instead of 4 (k = 2, the phases of an
/// upsampling conv). Tile rows of all frames are taken in blocks, so the small frames of the UNet's
/// inner levels share wide GEMMs as the large ones do.
func conv2dWinograd(_ src: Tensor, _ w: Tensor, _ bias: Tensor?, padding: Padding2D, into out: Tensor) {
    let n = src.dim(0), c = src.dim(1), h = src.dim(2), wd = src.dim(3)
    let o = w.dim(0), k = w.dim(2), ho = out.dim(2), wo = out.dim(3)
    let xis = (k + 1) * (k + 1)
    let th = (ho + 1) / 2, tw = (wo + 1) / 2
    let u = Tensor(empty: [xis * o * c])
    let wp = w.f32, up = u.f32
    withExtendedLifetime(w) {
        parallelChunks(o, minChunk: 8) { r in tck_winograd_weights(wp, k, r.lowerBound, r.upperBound, c, o, up) }
    }
    let totalRows = n * th
    let budgetRows = winogradBudget / (xis * max(c, o) * tw * 4)
    let blockRows = min(totalRows, max(1, budgetRows, (winogradMinTiles + tw - 1) / tw))
    let v = Tensor(empty: [xis * c * blockRows * tw]), m = Tensor(empty: [xis * o * blockRows * tw])
    let sp = src.f32, vp = v.f32, mp = m.f32, op = out.f32, bp = bias?.f32
    withExtendedLifetime((src, bias, u, v, m, out)) {
        var r0 = 0
        while r0 < totalRows {
            let rows = min(blockRows, totalRows - r0)
            let t = rows * tw
            // The block's tile rows as (frame, first tile row, count, first column) pieces.
            var pieces: [(frame: Int, ty: Int, count: Int, column: Int)] = []
            var r = r0
            while r < r0 + rows {
                let ty = r % th, count = min(th - ty, r0 + rows - r)
                pieces.append((r / th, ty, count, (r - r0) * tw))
                r += count
            }
            parallelChunks(c, minChunk: 1) { cr in
                for p in pieces {
                    tck_winograd_input(sp + p.frame * c * h * wd, k, h, wd, padding.top, padding.left, tw, p.ty, p.count,
                                       cr.lowerBound, cr.upperBound, vp + p.column, t, c * t)
                }
            }
            for xi in 0..<xis {
                sgemm(m: o, n: t, k: c, a: up + xi * o * c, lda: c, b: vp + xi * c * t, ldb: t, c: mp + xi * o * t, ldc: t)
            }
            parallelChunks(o, minChunk: 1) { orange in
                for p in pieces {
                    tck_winograd_output(mp + p.column, k, t, o * t, tw, p.ty, p.count, orange.lowerBound,
                                        orange.upperBound, bp, op + p.frame * o * ho * wo, ho, wo)
                }
            }
            r0 += rows
        }
    }
}
