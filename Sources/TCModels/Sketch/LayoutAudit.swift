import TCCore

/// Serves a model's construction from `base` while recording every tensor it asks for, so a strict
/// load can list all its problems at once instead of stopping at the first: a key the base lacks,
/// or holds in another shape, gets an inert placeholder (a zero-stride view of one zero) and is
/// recorded. Without a base it yields the layout a configuration implies, without allocating it.
/// A model built through an audit with problems is never used.
final class LayoutAudit: ShapeAwareTensorSource {
    let base: TensorSource?
    private(set) var requested: [(key: String, shape: [Int])] = []
    private(set) var missing: [String] = []
    private(set) var wrongShapes: [String] = []
    private var served: [String: Tensor] = [:]

    init(_ base: TensorSource?) { self.base = base }

    var sourceName: String { base?.sourceName ?? "layout" }
    var allKeys: [String] { base?.allKeys ?? requested.map(\.key) }
    func contains(_ key: String) -> Bool { served[key] != nil || base?.contains(key) == true }

    /// Keys of the base that nothing asked for.
    var unexpected: [String] {
        guard let base else { return [] }
        return base.allKeys.filter { served[$0] == nil }.sorted()
    }

    var isClean: Bool { missing.isEmpty && wrongShapes.isEmpty && unexpected.isEmpty }

    func tensor(_ key: String, shape: [Int]) throws -> Tensor {
        if served[key] == nil { requested.append((key, shape)) }
        let t = try resolve(key, shape)
        served[key] = t
        return t
    }

    /// Unshaped reads (a layer re-reading a key it already checked) get what the shaped read got.
    func tensor(_ key: String) throws -> Tensor {
        if let t = served[key] { return t }
        guard let base, base.contains(key) else { throw WeightError.missingKey(file: sourceName, key: key) }
        return try base.tensor(key)
    }

    private func resolve(_ key: String, _ shape: [Int]) throws -> Tensor {
        guard let base else { return LayoutAudit.placeholder(shape) }
        if let synthetic = base as? ShapeAwareTensorSource { return try synthetic.tensor(key, shape: shape) }
        guard base.contains(key) else {
            missing.append(key)
            return LayoutAudit.placeholder(shape)
        }
        let t = try base.tensor(key)
        guard t.shape == shape else {
            wrongShapes.append("\(key): expected \(shape), got \(t.shape)")
            return LayoutAudit.placeholder(shape)
        }
        return t
    }

    static func placeholder(_ shape: [Int]) -> Tensor {
        Tensor(storage: Tensor(zeros: [1]).storage, dtype: .f32, shape: shape, strides: shape.map { _ in 0 })
    }
}
