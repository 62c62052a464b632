import TCCore

/// The dual-reference decoder's conditioning (spec §1.3): the encoder's five feature taps of the
/// first and last keyframe of each video. Stored as (b·2, C_i, h_i, w_i), frames [A₀, B₀, A₁, B₁, …].
public struct DecoderReferences {
    /// [level 0, …, level L−1, conv_in], as the encoder returns them.
    public let features: [Tensor]

    public var videos: Int { features[0].dim(0) / 2 }

    /// From encoder hidden states over (b·t) frames: frames 0 and t−1 of each video. Encoding just
    /// the two keyframes gives t = 2.
    public init(hiddenStates: [Tensor], frames t: Int) throws {
        guard !hiddenStates.isEmpty, t >= 1, hiddenStates.allSatisfy({ $0.rank == 4 && $0.dim(0) % t == 0 && $0.dim(0) == hiddenStates[0].dim(0) }) else {
            throw ModelInputError.invalid(argument: "decoder references",
                                          reason: "hidden states \(hiddenStates.map(\.shape)) are not (b·\(t), C, h, w)")
        }
        let b = hiddenStates[0].dim(0) / t
        let picks = (0..<b).flatMap { [$0 * t, $0 * t + t - 1] }
        features = hiddenStates.map { $0.gather(frames: picks) }
    }

    /// From the reference layout (b, C_i, 2, h_i, w_i) (`ref_context` of the official decode call).
    public init(referenceContext: [Tensor]) throws {
        guard !referenceContext.isEmpty, referenceContext.allSatisfy({ $0.rank == 5 && $0.dim(2) == 2 && $0.dim(0) == referenceContext[0].dim(0) }) else {
            throw ModelInputError.invalid(argument: "ref_context",
                                          reason: "expected tensors (b, C, 2, h, w), got \(referenceContext.map(\.shape))")
        }
        features = referenceContext.map { r in
            r.permutedContiguous([0, 2, 1, 3, 4]).reshaped([r.dim(0) * 2, r.dim(1), r.dim(3), r.dim(4)])
        }
    }
}
