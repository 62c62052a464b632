import Foundation
import Synchronization

/// The process-wide stop request behind `tc_host.cancelled`: set by SIGINT/SIGTERM (or by
/// `request()`), polled by the executor between nodes and by nodes inside their loops.
public enum Cancellation {
    private static let flag = Atomic<Int>(0)

    public static var isRequested: Bool { flag.load(ordering: .relaxed) != 0 }

    public static func request() { flag.store(1, ordering: .relaxed) }

    public static func reset() { flag.store(0, ordering: .relaxed) }

    /// First Ctrl-C: ask nodes to stop cleanly. Second: leave at once with the cancelled code.
    public static func installSignalHandlers() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            if Cancellation.flag.exchange(1, ordering: .relaxed) != 0 { _exit(130) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}
