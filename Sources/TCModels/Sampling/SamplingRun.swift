import TCCore

/// Per-step hooks of a sampling run: progress for the host, a cancellation check, and a trace of
/// each step's tensors (parity runners, debugging).
public struct SamplingObserver {
    public var progress: ((_ done: Int, _ total: Int) -> Void)?
    public var isCancelled: (() -> Bool)?
    public var trace: ((StepTrace) -> Void)?

    public init(progress: ((Int, Int) -> Void)? = nil, isCancelled: (() -> Bool)? = nil,
                trace: ((StepTrace) -> Void)? = nil) {
        self.progress = progress
        self.isCancelled = isCancelled
        self.trace = trace
    }

    func checkCancelled() throws {
        if isCancelled?() == true { throw SamplingError.cancelled }
    }
}

/// What one step saw and produced.
public struct StepTrace {
    public let step: Int
    public let timestep: Int
    public let vCond: Tensor
    public let vUncond: Tensor?
    /// The x̂₀ the update used (after dynamic rescale).
    public let predX0: Tensor
    public let xPrev: Tensor
}

public enum SamplingError: Error, CustomStringConvertible, Equatable {
    case cancelled
    public var description: String { "sampling cancelled" }
}
