import Foundation
import TCCore

/// Where a sampler's Gaussian noise comes from: x_T first, then one tensor per step, in call order
/// (spec §4.8). Plug in `SeededGaussianNoise` for runs, `RecordedNoise` to replay a reference run.
public protocol NoiseSource: AnyObject {
    func next(_ shape: [Int]) throws -> Tensor
}

/// Standard normal noise from a seed: xoshiro256** (seeded through SplitMix64) feeding the
/// Box–Muller transform in float64, values rounded to float32, generated sequentially in
/// row-major order. Deterministic for a seed on any machine and thread count; it does not
/// reproduce PyTorch's generators (the reference draws on CUDA), so seeds are not interchangeable.
public final class SeededGaussianNoise: NoiseSource {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    private var spare: Double?

    public init(seed: UInt64) {
        var sm = seed
        func splitMix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    private func nextUInt64() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in (0, 1]: 53 random bits, never 0 (so the logarithm is finite).
    private func uniform() -> Double { (Double(nextUInt64() >> 11) + 1) * 0x1p-53 }

    public func normal() -> Double {
        if let z = spare {
            spare = nil
            return z
        }
        let r = (-2 * log(uniform())).squareRoot(), a = 2 * Double.pi * uniform()
        spare = r * sin(a)
        return r * cos(a)
    }

    public func next(_ shape: [Int]) -> Tensor {
        let t = Tensor(empty: shape)
        let p = t.f32
        for i in 0..<t.count { p[i] = Float(normal()) }
        return t
    }
}

/// Replays recorded tensors in order (a parity fixture's `input.noise.*`).
public final class RecordedNoise: NoiseSource {
    private var queue: [Tensor]
    private var used = 0

    public init(_ tensors: [Tensor]) { queue = tensors }

    public func next(_ shape: [Int]) throws -> Tensor {
        guard used < queue.count else {
            throw ModelInputError.invalid(argument: "noise", reason: "only \(queue.count) recorded noise tensors, draw \(used + 1) requested")
        }
        let t = queue[used]
        guard t.count == shape.reduce(1, *) else {
            throw ModelInputError.shape(argument: "noise[\(used)]", expected: "\(shape)", got: t.shape)
        }
        used += 1
        return t.float32().reshaped(shape)
    }
}
