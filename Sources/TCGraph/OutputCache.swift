import Foundation
import TCCore

/// Node outputs on disk, one safetensors file per cache key (`<dir>/<k0k1>/<key>.safetensors`):
/// tensors are named `<port>/<position>/<tensor>`, metadata `<port>/<key>`; reading maps the file,
/// so a hit costs no copy. A damaged entry is a miss, never an error.
public final class OutputCache: @unchecked Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// ~/.cache/tcgraph/cache (or $XDG_CACHE_HOME/tcgraph/cache).
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/tcgraph/cache" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/tcgraph/cache"
    }

    func path(_ key: String) -> String { "\(directory)/\(key.prefix(2))/\(key).safetensors" }

    public func contains(_ key: String) -> Bool { FileManager.default.fileExists(atPath: path(key)) }

    /// The cached outputs for `key` as port values for `ports`, or nil.
    func load(_ key: String, ports: [String]) -> [PortValue]? {
        guard contains(key), let file = try? SafeTensorsFile(path: path(key)) else { return nil }
        guard file.metadata["tcgraph.ports"] == ports.joined(separator: ",") else { return nil }
        var values = ports.map { _ in PortValue() }
        var placed: [(port: Int, position: Int, name: String, tensor: Tensor)] = []
        for k in file.keys {
            let parts = k.split(separator: "/", maxSplits: 2).map(String.init)
            guard parts.count == 3, let p = ports.firstIndex(of: parts[0]), let position = Int(parts[1]),
                  let t = try? file.tensor(k) else { return nil }
            placed.append((p, position, parts[2], t))
        }
        for e in placed.sorted(by: { ($0.port, $0.position) < ($1.port, $1.position) }) {
            values[e.port].tensors.append((e.name, e.tensor))
        }
        for (k, v) in file.metadata where k != "tcgraph.ports" {
            guard let slash = k.firstIndex(of: "/"), let p = ports.firstIndex(of: String(k[..<slash])) else { continue }
            values[p].meta[String(k[k.index(after: slash)...])] = v
        }
        return values
    }

    func store(_ key: String, ports: [String], values: [PortValue]) throws {
        let file = path(key)
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var entries: [SafeTensorsEntry] = []
        var meta = ["tcgraph.ports": ports.joined(separator: ",")]
        for (p, v) in zip(ports, values) {
            for (i, (name, tensor)) in v.tensors.enumerated() {
                entries.append(SafeTensorsEntry(key: "\(p)/\(i)/\(name)", dtype: tensor.dtype, shape: tensor.shape) { tensor })
            }
            for (k, m) in v.meta { meta["\(p)/\(k)"] = m }
        }
        _ = try writeSafeTensors(entries, to: file, metadata: meta)
    }
}

/// What a file-reading parameter contributes to a cache key: the size and modification time of
/// the file, or of every file of a numbered sequence (`####`, `%04d`) it names.
enum FileIdentity {
    static func describe(_ pattern: String) -> String {
        let fm = FileManager.default
        func stamp(_ path: String) -> String {
            guard let a = try? fm.attributesOfItem(atPath: path) else { return "\(path):missing" }
            let size = (a[.size] as? NSNumber)?.int64Value ?? -1
            let mtime = (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(path):\(size):\(mtime)"
        }
        let name = (pattern as NSString).lastPathComponent
        guard let regex = sequenceRegex(name) else { return stamp(pattern) }
        let dir = (pattern as NSString).deletingLastPathComponent
        let names = ((try? fm.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []).filter { n in
            regex.firstMatch(in: n, range: NSRange(n.startIndex..., in: n)) != nil
        }.sorted()
        return names.map { stamp(dir.isEmpty ? $0 : "\(dir)/\($0)") }.joined(separator: "|")
    }

    /// A regex matching the file names of a numbered-sequence pattern, or nil if it is not one.
    static func sequenceRegex(_ name: String) -> NSRegularExpression? {
        guard let r = name.range(of: "#+|%0?[0-9]*d", options: .regularExpression) else { return nil }
        let before = NSRegularExpression.escapedPattern(for: String(name[..<r.lowerBound]))
        let after = NSRegularExpression.escapedPattern(for: String(name[r.upperBound...]))
        return try? NSRegularExpression(pattern: "^\(before)-?[0-9]+\(after)$")
    }
}
