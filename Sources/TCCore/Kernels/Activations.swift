import CTCKernels
import Foundation

@inline(__always) public func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }
@inline(__always) public func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
/// Exact GELU, x·Φ(x), as `torch.nn.functional.gelu` without approximation.
@inline(__always) public func geluErf(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * 0.70710678118654752)) }
/// OpenAI CLIP's x·σ(1.702x).
@inline(__always) public func quickGelu(_ x: Float) -> Float { x / (1 + expf(-1.702 * x)) }

extension Tensor {
    public func silu() -> Tensor { vectorised(tck_silu) }
    public func gelu() -> Tensor { vectorised(tck_gelu) }
    /// A CTCKernels elementwise loop over this tensor as float32, in parallel chunks, into a new tensor.
    private func vectorised(_ kernel: @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void) -> Tensor {
        OpProfile.measure(.elementwise) {
            let src = float32()
            let out = Tensor(empty: shape)
            let s = src.f32, d = out.f32
            withExtendedLifetime(src) {
                parallelChunks(count, minChunk: 1 << 14) { r in kernel(s + r.lowerBound, d + r.lowerBound, r.count) }
            }
            return out
        }
    }

    public func quickGelu() -> Tensor { map(TCCore.quickGelu) }
    public func sigmoid() -> Tensor { map(TCCore.sigmoid) }
    public func tanh() -> Tensor { map { Foundation.tanhf($0) } }
    public func relu() -> Tensor { map { Swift.max($0, 0) } }
    public func leakyRelu(_ slope: Float) -> Tensor { map { $0 >= 0 ? $0 : $0 * slope } }

    public func siluInPlace() {
        OpProfile.measure(.elementwise) {
            precondition(isContiguous && dtype == .f32, "in-place op needs a contiguous float32 tensor")
            let d = f32
            parallelChunks(count, minChunk: 1 << 14) { r in tck_silu(d + r.lowerBound, d + r.lowerBound, r.count) }
        }
    }
    public func geluInPlace() {
        OpProfile.measure(.elementwise) {
            precondition(isContiguous && dtype == .f32, "in-place op needs a contiguous float32 tensor")
            let d = f32
            parallelChunks(count, minChunk: 1 << 14) { r in tck_gelu(d + r.lowerBound, d + r.lowerBound, r.count) }
        }
    }

    /// GEGLU: split the last axis into [value | gate] and return value·gelu(gate).
    public func geglu() -> Tensor {
        OpProfile.measure(.elementwise) {
            let x = float32()
            let d2 = x.dim(-1), d = d2 / 2
            let rows = x.count / max(d2, 1)
            let out = Tensor(empty: Array(x.shape.dropLast()) + [d])
            let s = x.f32, o = out.f32
            withExtendedLifetime(x) {
                parallelChunks(rows, minChunk: 8) { r in tck_geglu(s + r.lowerBound * d2, o + r.lowerBound * d, r.count, d) }
            }
            return out
        }
    }
}
