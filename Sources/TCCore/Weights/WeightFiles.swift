import Foundation

/// Opens a weight file by its content, not its extension: safetensors (`.safetensors`) or a
/// PyTorch zip checkpoint (`.ckpt`, `.pth`, `.pt`, `.bin`). Keys come out in the reference
/// loader's layout (state-dict unwrapped, DeepSpeed prefix dropped, legacy names renamed).
public func openWeightFile(_ path: String) throws -> TensorSource {
    let head = try readHead(path, 9)
    if head.count >= 4 && head[0] == 0x50 && head[1] == 0x4B && head[2] == 0x03 && head[3] == 0x04 {
        return try TorchCheckpoint(path: path)
    }
    // safetensors: a little-endian u64 header length that fits the file, then the JSON header.
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    let headerLength = head.count == 9 ? head[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) } : -1
    if head.count == 9 && (head[8] == UInt8(ascii: "{") || (headerLength > 0 && headerLength <= size - 8)) {
        let file = try SafeTensorsFile(path: path)
        guard file.keys.contains(where: { legacyKeyRename($0) != $0 }) else { return file }
        return try RenamedTensorSource(file, rename: legacyKeyRename)
    }
    if head.first == 0x80 {
        throw WeightError.corrupt(file: path, reason: "legacy (pre-zip) PyTorch serialization is not supported; re-save it with torch.save from PyTorch ≥ 1.6")
    }
    throw WeightError.corrupt(file: path, reason: "neither a safetensors file nor a PyTorch zip checkpoint")
}

private func readHead(_ path: String, _ n: Int) throws -> [UInt8] {
    guard let h = FileHandle(forReadingAtPath: path) else {
        let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
        throw WeightError.cannotOpen(file: path, reason: reason)
    }
    defer { try? h.close() }
    return [UInt8]((try? h.read(upToCount: n)) ?? Data())
}

/// Another source seen under renamed keys (e.g. DataParallel's `module.` removed, as
/// Anime2Sketch's loader does with `k.replace("module.", "")`). Two keys that rename to the same
/// name are an error.
public final class RenamedTensorSource: TensorSource {
    public let base: TensorSource
    private let keys: [String]
    private let original: [String: String]

    public init(_ base: TensorSource, rename: (String) -> String) throws {
        self.base = base
        var keys: [String] = [], original: [String: String] = [:]
        for k in base.allKeys {
            let r = rename(k)
            if let other = original[r] {
                throw WeightError.corrupt(file: base.sourceName, reason: "keys '\(other)' and '\(k)' both become '\(r)'")
            }
            original[r] = k
            keys.append(r)
        }
        self.keys = keys
        self.original = original
    }

    /// Every occurrence of `substring` deleted from every key.
    public convenience init(_ base: TensorSource, removing substring: String) throws {
        try self.init(base) { $0.replacingOccurrences(of: substring, with: "") }
    }

    public var sourceName: String { base.sourceName }
    public var allKeys: [String] { keys }
    public func contains(_ key: String) -> Bool { original[key] != nil }

    public func tensor(_ key: String) throws -> Tensor {
        guard let k = original[key] else { throw WeightError.missingKey(file: base.sourceName, key: key) }
        return try base.tensor(k)
    }
}

/// A model assembled from several files: each mount serves the keys under its `prefix`, looked up
/// in its source as `sourcePrefix` + the rest of the key. The longest matching prefix wins, so a
/// base file mounted at "" can be overridden for one subtree — e.g. the pruned fp16 UNet file at ""
/// plus open_clip's own weights at `cond_stage_model.model.` and `embedder.model.` (DESIGN §5).
public final class CompositeTensorSource: TensorSource {
    public struct Mount {
        public let prefix: String
        public let source: TensorSource
        public let sourcePrefix: String

        public init(prefix: String, source: TensorSource, sourcePrefix: String = "") {
            self.prefix = prefix
            self.source = source
            self.sourcePrefix = sourcePrefix
        }
    }

    public let mounts: [Mount]
    public let allKeys: [String]

    public init(_ mounts: [Mount]) {
        let sorted = mounts.sorted { $0.prefix.count > $1.prefix.count }
        self.mounts = sorted
        var keys: [String] = []
        var seen = Set<String>()
        for m in mounts {
            for k in m.source.allKeys where k.hasPrefix(m.sourcePrefix) {
                let key = m.prefix + k.dropFirst(m.sourcePrefix.count)
                if seen.contains(key) { continue }
                if let owner = CompositeTensorSource.owner(of: key, in: sorted), owner.source === m.source,
                   owner.prefix == m.prefix {
                    seen.insert(key)
                    keys.append(key)
                }
            }
        }
        allKeys = keys
    }

    private static func owner(of key: String, in sorted: [Mount]) -> Mount? {
        sorted.first { key.hasPrefix($0.prefix) }
    }

    public var sourceName: String { mounts.reversed().map(\.source.sourceName).joined(separator: " + ") }

    public func contains(_ key: String) -> Bool {
        guard let m = CompositeTensorSource.owner(of: key, in: mounts) else { return false }
        return m.source.contains(m.sourcePrefix + key.dropFirst(m.prefix.count))
    }

    public func tensor(_ key: String) throws -> Tensor {
        guard let m = CompositeTensorSource.owner(of: key, in: mounts) else {
            throw WeightError.missingKey(file: sourceName, key: key)
        }
        let inner = m.sourcePrefix + key.dropFirst(m.prefix.count)
        guard m.source.contains(inner) else {
            let shown = inner == key ? key : "\(inner)' (for '\(key)"
            throw WeightError.missingKey(file: m.source.sourceName, key: shown)
        }
        return try m.source.tensor(inner)
    }
}
