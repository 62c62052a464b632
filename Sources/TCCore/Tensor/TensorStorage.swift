import CTCKernels
import Foundation

/// A reference-counted block of memory that tensors view. It either owns an aligned allocation or
/// keeps alive whatever owns the bytes (an mmapped file, a buffer handed in through the C ABI).
public final class TensorStorage: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int
    private let release: (() -> Void)?
    private let ownedBytes: Int

    /// Fresh, 64-byte aligned, uninitialised memory. Large blocks (≥ 4 MiB) are 2 MiB aligned, asked
    /// to be backed by transparent huge pages, and recycled through `BlockCache` when freed:
    /// first-touching a fresh 52 MB activation costs ~13 000 page faults (or zeroing 26 huge pages),
    /// about as long as the kernel that writes it, and a UNet step allocates the same sizes every step.
    public init(byteCount: Int) {
        let n = max(byteCount, 64)
        let p: UnsafeMutableRawPointer
        if n >= BlockCache.threshold {
            let size = BlockCache.bucket(n)
            p = BlockCache.shared.take(size) ?? TensorStorage.allocateHuge(size)
            release = { BlockCache.shared.give(p, size: size) }
            ownedBytes = size
        } else {
            var q: UnsafeMutableRawPointer?
            guard posix_memalign(&q, 64, n) == 0, let q else { fatalError("out of memory allocating \(n) bytes") }
            p = q
            release = { free(q) }
            ownedBytes = n
        }
        base = p
        self.byteCount = byteCount
        MemoryStats.shared.allocated(ownedBytes)
    }

    /// Large blocks are mapped directly rather than taken from malloc: glibc raises its mmap
    /// threshold after the first large free and then serves blocks up to 32 MiB from its heap,
    /// where freed activations stay resident as fragments (GiBs after a denoising loop) instead of
    /// going back to the system when a stage ends.
    static func allocateHuge(_ size: Int) -> UnsafeMutableRawPointer {
        let align = 1 << 21
        guard let raw = mmap(nil, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != MAP_FAILED else { fatalError("out of memory mapping \(size) bytes") }
        let start = UInt(bitPattern: raw), aligned = (start + UInt(align) - 1) & ~UInt(align - 1)
        let head = Int(aligned - start), tail = align - head
        if head > 0 { munmap(raw, head) }
        let p = UnsafeMutableRawPointer(bitPattern: aligned)!
        if tail > 0 { munmap(p + size, tail) }
        #if os(Linux)
        _ = madvise(p, size, MADV_HUGEPAGE)
        #endif
        return p
    }

    static func freeHuge(_ p: UnsafeMutableRawPointer, _ size: Int) { munmap(p, size) }

    /// Wraps memory owned elsewhere; `release` runs when the last tensor viewing it goes away.
    public init(borrowing base: UnsafeMutableRawPointer, byteCount: Int, release: (() -> Void)?) {
        self.base = base
        self.byteCount = byteCount
        self.release = release
        ownedBytes = 0
    }

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

/// Freed large tensor blocks kept for reuse, by size (rounded up to 2 MiB). Bounded by
/// `TCGRAPH_BLOCK_CACHE_MB` (default 1024; 0 disables); `trim()` returns everything to the system,
/// e.g. between pipeline stages with different shapes.
///
/// The least recently freed blocks go first, and a request the cache cannot serve first returns
/// cached blocks of at least its size to the system: a miss means the working set has moved on
/// (the next decoder level, a clip-wide tensor), so mapping new memory next to stale blocks would
/// only add their size to the peak resident memory.
public final class BlockCache: @unchecked Sendable {
    public static let shared = BlockCache()
    static let threshold = 4 << 20
    private let lock = NSLock()
    /// Oldest first.
    private var blocks: [(size: Int, pointer: UnsafeMutableRawPointer)] = []
    private var cached = 0
    public let limit: Int

    init() {
        let mb = ProcessInfo.processInfo.environment["TCGRAPH_BLOCK_CACHE_MB"].flatMap { Int($0) } ?? 1024
        limit = max(0, mb) << 20
    }

    static func bucket(_ n: Int) -> Int { (n + (1 << 21) - 1) & ~((1 << 21) - 1) }

    /// Bytes held for reuse.
    public var cachedBytes: Int { lock.lock(); defer { lock.unlock() }; return cached }

    /// A cached block of exactly `size` bytes, the most recently freed; on a miss, releases the
    /// oldest cached blocks until `size` bytes have gone back to the system.
    func take(_ size: Int) -> UnsafeMutableRawPointer? {
        lock.lock()
        if let i = blocks.lastIndex(where: { $0.size == size }) {
            let p = blocks.remove(at: i).pointer
            cached -= size
            lock.unlock()
            return p
        }
        let released = evict(atLeast: size)
        lock.unlock()
        for b in released { TensorStorage.freeHuge(b.pointer, b.size) }
        return nil
    }

    func give(_ p: UnsafeMutableRawPointer, size: Int) {
        guard size <= limit else { return TensorStorage.freeHuge(p, size) }
        lock.lock()
        blocks.append((size, p))
        cached += size
        let released = evict(atLeast: cached - limit)
        lock.unlock()
        for b in released { TensorStorage.freeHuge(b.pointer, b.size) }
    }

    /// Removes the oldest blocks totalling at least `bytes` (all of them if fewer); caller holds the lock.
    private func evict(atLeast bytes: Int) -> [(size: Int, pointer: UnsafeMutableRawPointer)] {
        var n = 0, freed = 0
        while n < blocks.count && freed < bytes {
            freed += blocks[n].size
            n += 1
        }
        let released = Array(blocks.prefix(n))
        blocks.removeFirst(n)
        cached -= freed
        return released
    }

    /// Frees every cached block and hands malloc's free heap pages back to the system.
    public func trim() {
        lock.lock()
        let all = blocks
        blocks = []
        cached = 0
        lock.unlock()
        for b in all { TensorStorage.freeHuge(b.pointer, b.size) }
        tck_trim_heap()
    }
}
