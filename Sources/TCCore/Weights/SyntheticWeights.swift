import Foundation

/// A source that can produce a tensor once it knows the shape the model expects: the model code
/// states the shape of every tensor it reads (`WeightReader.callAsFunction(_:shape:)`), so a
/// network can be built at its real size without a checkpoint, for benchmarks and memory runs.
public protocol ShapeAwareTensorSource: TensorSource {
    func tensor(_ key: String, shape: [Int]) throws -> Tensor
}

/// Deterministic pseudo-random weights in whatever layout the model asks for: uniform in
/// ±1/√fan_in (fan_in = product of all dimensions but the first), and for 1-D tensors uniform in
/// ±0.1 around 1 for keys ending in `weight` (norm gains) or around 0 (biases), so activations stay
/// in a realistic range through deep stacks; stored in `dtype`. Values depend only on
/// the key and the seed. Every key read is recorded, so the layout can be listed or written out.
public final class SyntheticWeights: ShapeAwareTensorSource, @unchecked Sendable {
    public let dtype: DType
    public let seed: UInt64
    private let lock = NSLock()
    private var shapes: [String: [Int]] = [:]

    public init(dtype: DType = .f32, seed: UInt64 = 0) {
        self.dtype = dtype
        self.seed = seed
    }

    public var sourceName: String { "synthetic weights (\(dtype), seed \(seed))" }
    public var allKeys: [String] { lock.lock(); defer { lock.unlock() }; return shapes.keys.sorted() }
    /// Shapes requested so far, by key.
    public var layout: [String: [Int]] { lock.lock(); defer { lock.unlock() }; return shapes }

    /// Only keys already requested with a shape exist: optional tensors are absent.
    public func contains(_ key: String) -> Bool { lock.lock(); defer { lock.unlock() }; return shapes[key] != nil }

    public func tensor(_ key: String) throws -> Tensor {
        lock.lock()
        let shape = shapes[key]
        lock.unlock()
        guard let shape else { throw WeightError.missingKey(file: sourceName, key: key) }
        return make(key, shape)
    }

    public func tensor(_ key: String, shape: [Int]) throws -> Tensor {
        lock.lock()
        shapes[key] = shape
        lock.unlock()
        return make(key, shape)
    }

    private func make(_ key: String, _ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        let fanIn = max(1, shape.dropFirst().reduce(1, *))
        let bound: Float = shape.count <= 1 ? 0.1 : Float(1 / Double(fanIn).squareRoot())
        let centre: Float = shape.count == 1 && key.hasSuffix("weight") ? 1 : 0
        var h = seed ^ 0xCBF2_9CE4_8422_2325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        let values = Tensor(empty: shape)
        let p = values.f32
        let base = h
        parallelChunks(n, minChunk: 1 << 16) { r in
            for i in r {
                // SplitMix64 of (key hash, index): independent of the chunking.
                var z = base &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                let u = Float(z >> 40) / Float(1 << 24)
                p[i] = centre + (2 * u - 1) * bound
            }
        }
        return dtype == .f32 ? values : values.converted(to: dtype)
    }
}
