import COpenBLAS
import Dispatch
import Foundation

/// How many threads our own loops use, and how OpenBLAS is told to match.
///
/// The phases never overlap: a kernel either calls sgemm (OpenBLAS runs its own `threads` workers)
/// or runs a `parallelFor` (ours), so the machine is never oversubscribed. Work is split statically
/// by index, so results do not depend on scheduling: they are deterministic for a fixed count.
/// Workers inherit the caller's `withComputePrecision` scope.
public enum Threading {
    nonisolated(unsafe) private static var _threads: Int = {
        if let s = ProcessInfo.processInfo.environment["TCGRAPH_THREADS"], let n = Int(s), n > 0 { return n }
        return ProcessInfo.processInfo.activeProcessorCount
    }()
    nonisolated(unsafe) private static var configured = false

    public static var threads: Int {
        if !configured { configure(_threads) }
        return _threads
    }

    public static func configure(_ n: Int) {
        _threads = max(1, n)
        configured = true
        openblas_set_num_threads(Int32(_threads))
    }
}

/// Runs `body(i)` for i in 0..<n across `Threading.threads` workers; index i always runs on the
/// same worker for a given n and thread count.
public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    let t = min(Threading.threads, n)
    if t <= 1 {
        for i in 0..<n { body(i) }
        return
    }
    let scope = currentPrecisionScope()
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: t) { w in
            withPrecisionScope(scope) {
                var i = w
                while i < n {
                    body(i)
                    i += t
                }
            }
        }
    }
}

/// Splits 0..<n into at most `Threading.threads` contiguous ranges of at least `minChunk` elements.
public func parallelChunks(_ n: Int, minChunk: Int = 4096, _ body: (Range<Int>) -> Void) {
    let t = max(1, min(Threading.threads, n / max(minChunk, 1)))
    if t <= 1 {
        body(0..<n)
        return
    }
    let scope = currentPrecisionScope()
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: t) { w in
            withPrecisionScope(scope) { body((n * w / t)..<(n * (w + 1) / t)) }
        }
    }
}

/// memcpy in `Threading.threads` contiguous pieces for large blocks: a fresh destination's page
/// faults (the kernel zeroing each huge page) then happen on every core instead of one.
public func parallelCopy(to dst: UnsafeMutableRawPointer, from src: UnsafeRawPointer, byteCount: Int) {
    parallelChunks(byteCount, minChunk: 4 << 20) { r in
        (dst + r.lowerBound).copyMemory(from: src + r.lowerBound, byteCount: r.count)
    }
}
