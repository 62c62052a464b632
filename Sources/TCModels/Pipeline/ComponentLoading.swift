import TCCore

/// A part of the checkpoint that loads on its own (spec §3.2): the key prefixes it owns and the
/// keys under them that the interpolation never reads (spec §3.3; they may be present or absent).
struct ModelComponent {
    let name: String
    let prefixes: [String]
    let unused: Set<String>

    func owns(_ key: String) -> Bool { prefixes.contains { key.hasPrefix($0) } }
}

/// Why a component could not be loaded strictly: every missing, unexpected and mis-shaped tensor,
/// naming the file (the reference's `load_state_dict(strict=True)`, per component).
public struct ModelLoadError: Error, CustomStringConvertible, Equatable {
    public struct ShapeProblem: Equatable, Sendable {
        public let key: String
        public let expected: [Int]
        public let got: [Int]

        public init(key: String, expected: [Int], got: [Int]) {
            self.key = key
            self.expected = expected
            self.got = got
        }
    }

    public let component: String
    public let file: String
    public let missing: [String]
    public let unexpected: [String]
    public let shapes: [ShapeProblem]

    public init(component: String, file: String, missing: [String], unexpected: [String], shapes: [ShapeProblem]) {
        self.component = component
        self.file = file
        self.missing = missing
        self.unexpected = unexpected
        self.shapes = shapes
    }

    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("\(missing.count) missing tensors: \(Self.list(missing))") }
        if !unexpected.isEmpty { parts.append("\(unexpected.count) unexpected tensors: \(Self.list(unexpected))") }
        if !shapes.isEmpty {
            parts.append("\(shapes.count) tensors of another shape: "
                + Self.list(shapes.map { "\($0.key) \($0.got) (the model expects \($0.expected))" }))
        }
        return "\(file): cannot load the \(component): \(parts.joined(separator: "; ")). Is this file a checkpoint of the model the config describes?"
    }

    static func list(_ items: [String]) -> String {
        items.count <= 8 ? items.joined(separator: ", ") : items.prefix(8).joined(separator: ", ") + ", … (\(items.count - 8) more)"
    }
}

extension ModelComponent {
    /// Builds the component from `source` and checks that it read every owned tensor but the unused
    /// ones. A failed build is diagnosed completely: the build is replayed against a probe that
    /// records the layout the model declares, and that layout is compared with the file's keys.
    func load<T>(from source: TensorSource, _ build: (WeightReader) throws -> T) throws -> T {
        let root = WeightReader(source)
        let model: T
        do {
            model = try build(root)
        } catch let error as WeightError {
            switch error {
            case .missingKey, .shapeMismatch: throw diagnose(source, build) ?? error
            default: throw error
            }
        }
        let read = root.readKeys
        let unexpected = source.allKeys.filter { owns($0) && !read.contains($0) && !unused.contains($0) }.sorted()
        guard unexpected.isEmpty else {
            throw ModelLoadError(component: name, file: source.sourceName, missing: [], unexpected: unexpected, shapes: [])
        }
        return model
    }

    private func diagnose<T>(_ source: TensorSource, _ build: (WeightReader) throws -> T) -> ModelLoadError? {
        let probe = LayoutProbe(source)
        _ = try? build(WeightReader(probe))
        let expected = probe.expected
        let missing = (expected.keys.filter { !source.contains($0) } + probe.missingShapeless).sorted()
        let shapes = expected.keys.sorted().compactMap { key -> ModelLoadError.ShapeProblem? in
            guard source.contains(key), let stored = try? source.tensor(key), stored.shape != expected[key]! else { return nil }
            return ModelLoadError.ShapeProblem(key: key, expected: expected[key]!, got: stored.shape)
        }
        let unexpected = source.allKeys.filter { owns($0) && expected[$0] == nil && !unused.contains($0) }.sorted()
        guard !missing.isEmpty || !shapes.isEmpty else { return nil }
        return ModelLoadError(component: name, file: source.sourceName, missing: missing, unexpected: unexpected, shapes: shapes)
    }
}

/// Records the shape of every tensor a model declares while handing out placeholder views of one
/// shared, never-initialised buffer, so a model of any size can be "built" without its weights.
/// Reads without a declared shape fall through to the real source.
final class LayoutProbe: ShapeAwareTensorSource {
    let base: TensorSource
    private(set) var expected: [String: [Int]] = [:]
    private(set) var missingShapeless: [String] = []
    private var scratch = TensorStorage(byteCount: 1 << 12)

    init(_ base: TensorSource) { self.base = base }

    var sourceName: String { base.sourceName }
    var allKeys: [String] { base.allKeys }
    func contains(_ key: String) -> Bool { base.contains(key) }

    func tensor(_ key: String) throws -> Tensor {
        // Layers often declare a shape, then read the same key again without one.
        if let shape = expected[key] { return try tensor(key, shape: shape) }
        guard base.contains(key) else {
            missingShapeless.append(key)
            throw WeightError.missingKey(file: base.sourceName, key: key)
        }
        return try base.tensor(key)
    }

    func tensor(_ key: String, shape: [Int]) throws -> Tensor {
        expected[key] = shape
        let bytes = shape.reduce(1, *) * DType.f32.byteSize
        if bytes > scratch.byteCount { scratch = TensorStorage(byteCount: bytes) }
        return Tensor(storage: scratch, dtype: .f32, shape: shape)
    }
}
