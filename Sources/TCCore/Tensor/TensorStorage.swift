import Foundation

/// A reference-counted block of memory that tensors view. It either owns an aligned allocation or
/// keeps alive whatever owns the bytes (an mmapped file, a buffer handed in through the C ABI).
public final class TensorStorage: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int
    private let release: (() -> Void)?
    private let ownedBytes: Int

    /// Fresh, 64-byte aligned, uninitialised memory. Large blocks are 2 MiB aligned and asked to be
    /// backed by transparent huge pages: first-touching a 52 MB activation in 4 KiB pages costs
    /// ~13 000 page faults, about as long as the kernel that writes it.
    public init(byteCount: Int) {
        var p: UnsafeMutableRawPointer?
        let n = max(byteCount, 64)
        let huge = n >= TensorStorage.hugePageThreshold
        guard posix_memalign(&p, huge ? 1 << 21 : 64, n) == 0, let p else {
            fatalError("out of memory allocating \(n) bytes")
        }
        #if os(Linux)
        if huge { _ = madvise(p, n, MADV_HUGEPAGE) }
        #endif
        base = p
        self.byteCount = byteCount
        ownedBytes = n
        release = { free(p) }
        MemoryStats.shared.allocated(n)
    }

    /// Wraps memory owned elsewhere; `release` runs when the last tensor viewing it goes away.
    public init(borrowing base: UnsafeMutableRawPointer, byteCount: Int, release: (() -> Void)?) {
        self.base = base
        self.byteCount = byteCount
        self.release = release
        ownedBytes = 0
    }

    static let hugePageThreshold = 4 << 20

    deinit {
        release?()
        if ownedBytes > 0 { MemoryStats.shared.freed(ownedBytes) }
    }
}

/// Live bytes of owned tensor storage, for memory reports (mmapped weights are not counted).
public final class MemoryStats: @unchecked Sendable {
    public static let shared = MemoryStats()
    private let lock = NSLock()
    private var live = 0
    private var peak = 0

    func allocated(_ n: Int) {
        lock.lock(); live += n; peak = max(peak, live); lock.unlock()
    }
    func freed(_ n: Int) {
        lock.lock(); live -= n; lock.unlock()
    }
    public var liveBytes: Int { lock.lock(); defer { lock.unlock() }; return live }
    public var peakBytes: Int { lock.lock(); defer { lock.unlock() }; return peak }
    public func resetPeak() { lock.lock(); peak = live; lock.unlock() }
}
