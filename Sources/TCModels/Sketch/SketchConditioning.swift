import TCCore

/// What the Denoise node does with its optional SKETCH input (sketch-and-colorize.md §6.5):
/// SKETCH tensors → hints at the model's frame size → `SketchGuidance` over the run's contexts.
public enum SketchConditioning {
    /// A SKETCH port's tensors as frames: `sketch` (T, H, W, 1) white lines on black, `present`
    /// (T) uint8 (nil = every frame present).
    public static func frames(sketch: Tensor, present: Tensor?) throws -> SketchFrames {
        var mask: [Bool]? = nil
        if let present {
            guard present.rank == 1 else {
                throw SketchError.invalidInput(what: "SKETCH present mask", expected: "(T) flags", got: "\(present.shape)")
            }
            mask = present.toArray().map { $0 != 0 }
        }
        return try SketchFrames(frames: sketch, present: mask)
    }

    /// Sketch guidance for one video: `concat` (1, C, T, h, w) are the keyframe latents, the
    /// contexts (1, L, D) the run's own (the unconditional one nil without classifier-free
    /// guidance). The sketches must number T; they are brought to 8h × 8w by the keyframes'
    /// transform (`SketchFrames.fitted`), so sketches drawn at the keyframes' size line up.
    public static func guidance(controlNet: SketchControlNet, sketches: SketchFrames, concat: Tensor,
                                context: Tensor, unconditionalContext: Tensor?, scale: Float,
                                frameScales: [Float]? = nil, textOnly: Bool = false) throws -> SketchGuidance {
        guard concat.rank == 5, concat.dim(0) == 1 else {
            throw ModelInputError.shape(argument: "keyframe latents", expected: "(1, C, T, h, w)", got: concat.shape)
        }
        let t = concat.dim(2), h = concat.dim(3), w = concat.dim(4)
        guard sketches.count == t else {
            throw SketchError.invalidInput(what: "sketch frames", expected: "\(t), one per generated frame (absent ones blank)",
                                           got: "\(sketches.count)")
        }
        let fitted = try sketches.fitted(height: 8 * h, width: 8 * w)
        let g = try SketchGuidance(controlNet: controlNet, sketches: fitted, context: context,
                                   unconditionalContext: unconditionalContext, scale: scale, frameScales: frameScales,
                                   textOnly: textOnly)
        try g.check(concat: concat, guided: unconditionalContext != nil)
        return g
    }
}
