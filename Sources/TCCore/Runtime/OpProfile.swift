import Foundation

/// Where a forward's time goes, by kind of operation (`tcgraph bench … --profile`): the public
/// kernels time themselves when profiling is on. Only the outermost kernel call counts (a conv's
/// own GEMMs are the conv's time), and only calls from the thread that enabled it (the kernels'
/// callers; their worker threads run inside those calls). Off, a call costs one branch.
public enum OpProfile {
    public enum Op: String, CaseIterable, Sendable {
        case conv = "conv2d"
        case temporalConv = "temporal_conv"
        case linear
        case gemm = "other_gemm"
        case attention
        case norm
        case elementwise
        case layout
        case conversion = "dtype_conversion"
    }

    public struct Entry: Sendable {
        public let op: Op
        public let seconds: Double
        public let calls: Int
        /// Multiply-add FLOPs (2 per MAC) the calls did; zero for memory-bound kinds.
        public let flops: Double
    }

    nonisolated(unsafe) private static var owner: pthread_t?
    nonisolated(unsafe) private static var depth = 0
    nonisolated(unsafe) private static var seconds = [Double](repeating: 0, count: Op.allCases.count)
    nonisolated(unsafe) private static var calls = [Int](repeating: 0, count: Op.allCases.count)
    nonisolated(unsafe) private static var flops = [Double](repeating: 0, count: Op.allCases.count)

    /// Starts (or restarts) collecting, for calls made on this thread.
    public static func start() {
        reset()
        owner = pthread_self()
    }

    public static func stop() { owner = nil }

    public static func reset() {
        for i in seconds.indices { seconds[i] = 0; calls[i] = 0; flops[i] = 0 }
    }

    public static var entries: [Entry] {
        Op.allCases.enumerated().map { Entry(op: $1, seconds: seconds[$0], calls: calls[$0], flops: flops[$0]) }
    }

    @inline(__always)
    public static func measure<T>(_ op: Op, flops f: @autoclosure () -> Double = 0, _ body: () throws -> T) rethrows -> T {
        guard let owner, pthread_equal(owner, pthread_self()) != 0, depth == 0 else { return try body() }
        depth += 1
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer {
            let i = Op.allCases.firstIndex(of: op)!
            seconds[i] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            calls[i] += 1
            flops[i] += f()
            depth -= 1
        }
        return try body()
    }
}
