import Foundation
import TCPluginKit

/// Files written under temporary names in their final folders, renamed into place together only
/// once all of them exist; discarded otherwise, so no partial output is ever visible.
final class AtomicFiles {
    private var pending: [(tmp: String, final: String)] = []

    func temporary(for path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let tmp = (dir.isEmpty ? "" : dir + "/") + ".\(name).tcgraph-tmp-\(getpid())"
        pending.append((tmp, path))
        return tmp
    }

    func commit() throws {
        for (tmp, final) in pending where rename(tmp, final) != 0 {
            let reason = String(cString: strerror(errno))
            discard()
            throw NodeError("cannot move \(tmp) to \(final): \(reason)")
        }
        pending = []
    }

    func discard() {
        for (tmp, _) in pending { unlink(tmp) }
        pending = []
    }
}
