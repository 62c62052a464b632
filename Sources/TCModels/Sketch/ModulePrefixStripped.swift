import Foundation
import TCCore

/// A checkpoint seen with every occurrence of the substring `module.` removed from its keys, as
/// Anime2Sketch's `create_model` does before its strict load (it accepts DataParallel-saved files,
/// whose keys start with `module.`, and plain ones alike). Keys without `module.` pass unchanged.
public final class ModulePrefixStripped: TensorSource {
    public let base: TensorSource
    /// Stripped key → stored key.
    private let stored: [String: String]
    public let allKeys: [String]

    public init(_ base: TensorSource) throws {
        self.base = base
        var map: [String: String] = [:]
        var order: [String] = []
        var clashes: [String: [String]] = [:]
        for key in base.allKeys {
            let name = key.replacingOccurrences(of: "module.", with: "")
            if let other = map[name] {
                clashes[name, default: [other]].append(key)
                continue
            }
            map[name] = key
            order.append(name)
        }
        if let (name, keys) = clashes.min(by: { $0.key < $1.key }) {
            throw SketchError.keyCollision(source: base.sourceName, key: name, stored: keys)
        }
        stored = map
        allKeys = order
    }

    public var sourceName: String { base.sourceName }
    public func contains(_ key: String) -> Bool { stored[key] != nil }

    public func tensor(_ key: String) throws -> Tensor {
        guard let k = stored[key] else { throw WeightError.missingKey(file: base.sourceName, key: key) }
        return try base.tensor(k)
    }
}
