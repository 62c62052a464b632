import Foundation
import TCCore

/// The host's shared weight store: model files are found in the model folders, opened once per
/// run (mmapped, zero-copy) whatever the number of nodes that ask, and handed to plugins as
/// tensor views by checkpoint key.
public final class WeightStore: @unchecked Sendable {
    /// Where relative model names are looked up, in order.
    public let folders: [String]
    private var opened: [String: OpenedWeights] = [:]
    private let lock = NSLock()

    public init(folders: [String]) { self.folders = folders }

    /// `--models` folders, then $TCGRAPH_MODELS (colon-separated), then ~/.cache/tcgraph/models.
    public static func folders(explicit: [String], environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var f = explicit
        if let env = environment["TCGRAPH_MODELS"] { f += env.split(separator: ":").map(String.init).filter { !$0.isEmpty } }
        let home = environment["HOME"] ?? NSHomeDirectory()
        f.append((home as NSString).appendingPathComponent(".cache/tcgraph/models"))
        return f
    }

    /// The model a node asked for was not found anywhere.
    public struct ModelNotFound: Error, CustomStringConvertible {
        public let candidates: [String]
        public let folders: [String]
        public let whereToGet: String

        public var description: String {
            let names = candidates.map { "'\($0)'" }.joined(separator: " or ")
            let relative = candidates.contains { !$0.hasPrefix("/") }
            let looked = relative ? " in \(folders.joined(separator: ", ")) (set with --models DIR or TCGRAPH_MODELS)" : ""
            return "model file not found: looked for \(names)\(looked)\(whereToGet.isEmpty ? "" : "; get it from \(whereToGet)")"
        }
    }

    /// The first existing candidate, opened (or the already opened one).
    func open(_ candidates: [String], whereToGet: String) throws -> OpenedWeights {
        let fm = FileManager.default
        var found: String?
        search: for c in candidates {
            let paths = c.hasPrefix("/") ? [c] : folders.map { ($0 as NSString).appendingPathComponent(c) }
            for p in paths where fm.fileExists(atPath: p) {
                found = p
                break search
            }
        }
        guard let found else { throw ModelNotFound(candidates: candidates, folders: folders, whereToGet: whereToGet) }
        let real = URL(fileURLWithPath: found).resolvingSymlinksInPath().path
        lock.lock()
        defer { lock.unlock() }
        if let w = opened[real] { return w }
        let w = OpenedWeights(path: found, source: try openWeightFile(found))
        opened[real] = w
        return w
    }

    /// Files opened so far (for reports and tests of sharing).
    public var openedPaths: [String] {
        lock.lock(); defer { lock.unlock() }
        return opened.values.map(\.path).sorted()
    }
}

/// One opened weight file as plugins reach it through `tc_weights *`; the C strings it hands out
/// live as long as it does (the whole run).
final class OpenedWeights {
    let path: String
    let source: TensorSource
    let cPath: UnsafeMutablePointer<CChar>
    let cKeys: [UnsafeMutablePointer<CChar>]

    init(path: String, source: TensorSource) {
        self.path = path
        self.source = source
        cPath = strdup(path)!
        cKeys = source.allKeys.map { strdup($0)! }
    }

    deinit {
        free(cPath)
        cKeys.forEach { free($0) }
    }

    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ p: OpaquePointer) -> OpenedWeights {
        Unmanaged<OpenedWeights>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }
}
