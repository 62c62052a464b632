import Foundation

/// One running node as the host services see it through `tc_call *`.
final class CallContext {
    let node: String
    let observer: RunObserver
    let weights: WeightStore
    let runInfo: [String: UnsafeMutablePointer<CChar>]
    private let lock = NSLock()
    private var scratch: [UnsafeMutableRawPointer] = []
    private(set) var error: String?

    init(node: String, observer: RunObserver, weights: WeightStore, runInfo: [String: UnsafeMutablePointer<CChar>]) {
        self.node = node
        self.observer = observer
        self.weights = weights
        self.runInfo = runInfo
    }

    deinit { scratch.forEach { free($0) } }

    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ p: OpaquePointer) -> CallContext {
        Unmanaged<CallContext>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }

    func setError(_ message: String) {
        lock.lock(); defer { lock.unlock() }
        error = message
    }

    func allocate(_ bytes: Int) -> UnsafeMutableRawPointer? {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 64, max(bytes, 1)) == 0, let p else { return nil }
        lock.lock(); defer { lock.unlock() }
        scratch.append(p)
        return p
    }
}
