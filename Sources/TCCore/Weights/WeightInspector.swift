import Foundation

/// The tensors of a weight source — keys, dtypes, shapes — grouped by key prefix, and how they
/// compare with an expected layout such as ../shared/parity/full_config_manifest.json.
public struct WeightInspection {
    public struct Item: Sendable {
        public let key: String
        /// A DType name, or the storage type of a tensor tcgraph cannot compute with.
        public let dtype: String
        public let shape: [Int]
        public var elements: Int { shape.reduce(1, *) }
    }

    public struct Group: Sendable {
        public let prefix: String
        public let tensors: Int
        public let elements: Int
        public let dtypes: [String: Int]
    }

    public let source: String
    public let items: [Item]

    public init(_ source: TensorSource) throws {
        self.source = source.sourceName
        var items: [Item] = []
        for key in source.allKeys {
            if let ckpt = source as? TorchCheckpoint, let e = ckpt.entries[key] {
                items.append(Item(key: key, dtype: e.dtype?.rawValue ?? e.storageType, shape: e.shape))
            } else if let st = source as? SafeTensorsFile, let e = st.entries[key] {
                items.append(Item(key: key, dtype: e.dtype.rawValue, shape: e.shape))
            } else {
                let t = try source.tensor(key)
                items.append(Item(key: key, dtype: t.dtype.rawValue, shape: t.shape))
            }
        }
        self.items = items
    }

    public var elements: Int { items.reduce(0) { $0 + $1.elements } }

    public var dtypes: [String: Int] { items.reduce(into: [:]) { $0[$1.dtype, default: 0] += 1 } }

    /// Totals per key prefix of `depth` dot-separated components (shorter keys group under their
    /// parent; keys without a dot under "(top level)"), in first-appearance order.
    public func groups(depth: Int = 2) -> [Group] {
        var order: [String] = []
        var acc: [String: (Int, Int, [String: Int])] = [:]
        for it in items {
            let parts = it.key.split(separator: ".", omittingEmptySubsequences: false)
            let prefix = parts.count <= 1 ? "(top level)" : parts.prefix(min(depth, parts.count - 1)).joined(separator: ".")
            if acc[prefix] == nil { order.append(prefix); acc[prefix] = (0, 0, [:]) }
            acc[prefix]!.0 += 1
            acc[prefix]!.1 += it.elements
            acc[prefix]!.2[it.dtype, default: 0] += 1
        }
        return order.map { Group(prefix: $0, tensors: acc[$0]!.0, elements: acc[$0]!.1, dtypes: acc[$0]!.2) }
    }
}

/// An expected state-dict layout: key → shape, and whether the interpolation pipeline reads it.
public struct WeightManifest {
    public struct Key: Sendable {
        public let shape: [Int]
        public let used: Bool
    }

    public let path: String
    public let keys: [String: Key]
    public let order: [String]

    /// Reads `{"keys": {key: {"shape": […], "used_by_interp_pipeline": bool, …}}}` (the shared
    /// parity manifest's format; `used_by_interp_pipeline` defaults to true).
    public init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WeightError.cannotOpen(file: path, reason: "cannot read the manifest")
        }
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let keys = obj["keys"] as? [String: Any] else {
            throw WeightError.corrupt(file: path, reason: "not a weight manifest: expected a JSON object with a \"keys\" object")
        }
        var out: [String: Key] = [:]
        for (k, v) in keys {
            guard let info = v as? [String: Any], let shape = info["shape"] as? [Int] else {
                throw WeightError.corrupt(file: path, reason: "manifest key '\(k)' has no integer shape list")
            }
            out[k] = Key(shape: shape, used: info["used_by_interp_pipeline"] as? Bool ?? true)
        }
        self.keys = out
        // JSONSerialization loses the file's key order; sort for stable reports.
        order = out.keys.sorted()
    }
}

/// Differences between a weight source and a manifest.
public struct ManifestComparison {
    public let missingUsed: [String]
    public let missingUnused: [String]
    public let unexpected: [String]
    public let shapeMismatches: [(key: String, expected: [Int], got: [Int])]

    public init(_ inspection: WeightInspection, _ manifest: WeightManifest) {
        let have = Dictionary(inspection.items.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var missingUsed: [String] = [], missingUnused: [String] = []
        var mismatches: [(String, [Int], [Int])] = []
        for k in manifest.order {
            let want = manifest.keys[k]!
            guard let got = have[k] else {
                if want.used { missingUsed.append(k) } else { missingUnused.append(k) }
                continue
            }
            if got.shape != want.shape { mismatches.append((k, want.shape, got.shape)) }
        }
        self.missingUsed = missingUsed
        self.missingUnused = missingUnused
        unexpected = inspection.items.map(\.key).filter { manifest.keys[$0] == nil }
        shapeMismatches = mismatches
    }

    /// Everything the interpolation pipeline reads is present with the right shape, nothing extra.
    public var isLoadable: Bool { missingUsed.isEmpty && shapeMismatches.isEmpty && unexpected.isEmpty }
}
