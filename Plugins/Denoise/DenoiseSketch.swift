import Foundation
import ModelNodeKit
import TCCore
import TCModels
import TCPluginKit

/// The Denoise node's optional sketch input (sketch-and-colorize.md §1.3–1.5): the SKETCH frames,
/// fitted to the model's frame like the keyframes, guide every sampling step through the sketch
/// encoder (a ControlNet), both guidance branches with their own contexts.
enum DenoiseSketch {
    static let input = Port("sketch", .sketch, optional: true,
                            doc: "Sketch hints from SketchExtract or Colorize, one per generated frame (blank = no sketch).")

    static let params: [Param] = [
        .float("control_scale", default: 0.6, min: 0, max: 2,
               doc: "Strength of the sketches: one factor on all 13 sketch-encoder residuals (0.6 = the reference UI's default)."),
        .string("sketch_model", default: "auto",
                doc: "Sketch encoder: auto (sketch_encoder.ckpt / sketch_encoder-fp16.safetensors for the real model, the bundled small one for the bundled model), tiny, or a file."),
    ]

    static let doc = """
        With a `sketch` input the sketch encoder (ToonCrafter's SD-2.1 ControlNet) adds its residuals, scaled by \
        `control_scale`, to every step; its hint embedding is computed once. The sketches must number the \
        generated frames; they are fitted to the model's frame like the keyframes (short side, centre crop). \
        Blank frames still run through the encoder (as in the reference); with only blank sketches and \
        control_scale 0 it is skipped (identical result).
        """

    /// The guide hook for `InterpolationSampling.sample`, or nil without a sketch input.
    static func guide(_ ctx: NodeContext, modelPath: String, concat: Tensor, context: Tensor,
                      unconditionalContext: Tensor?) throws -> ((UNetDenoiser) throws -> Void)? {
        guard let bundle = try ctx.input("sketch") else { return nil }
        let sketches = try SketchConditioning.frames(sketch: try bundle.require("sketch", port: "sketch"), present: bundle["present"])
        let net = try controlNet(ctx, modelPath: modelPath)
        let guidance = try SketchConditioning.guidance(controlNet: net, sketches: sketches, concat: concat, context: context,
                                                       unconditionalContext: unconditionalContext,
                                                       scale: Float(try ctx.float("control_scale")))
        let present = sketches.present.filter { $0 }.count
        ctx.log("sketch guidance: \(present) of \(sketches.count) frames sketched, control_scale \(guidance.scale)" +
                (guidance.isInert ? " (all blank at scale 0: encoder skipped)" : ""))
        return { try $0.guide(with: guidance) }
    }

    /// The sketch encoder that goes with the UNet at `modelPath`, through the host's weight store.
    static func controlNet(_ ctx: NodeContext, modelPath: String) throws -> SketchControlNet {
        let choice = try ctx.string("sketch_model")
        let bundled = SketchModelFiles.bundledControlNetPath
        let unetIsBundled = ModelFiles.bundledPath.map {
            URL(fileURLWithPath: $0).resolvingSymlinksInPath().path == URL(fileURLWithPath: modelPath).resolvingSymlinksInPath().path
        } ?? false
        let candidates: [String]
        switch choice {
        case "", "auto":
            candidates = unetIsBundled ? (bundled.map { [$0] } ?? []) : SketchModelFiles.controlNetNames
        case "tiny", "tcgraph-tiny":
            candidates = bundled.map { [$0] } ?? []
        default:
            candidates = choice.hasPrefix("/") ? [choice] : [choice, URL(fileURLWithPath: choice).standardizedFileURL.path]
        }
        guard !candidates.isEmpty else {
            throw NodeError("the bundled small sketch encoder \(SketchModelFiles.bundledControlNet) is not in this checkout; set sketch_model to a file")
        }
        let weights = try ctx.weights(candidates, whereToGet: SketchModelFiles.controlNetSource)
        let (config, _) = try SketchModelFiles.controlNetConfig(forFile: weights.sourceName)
        return try SketchControlNet.load(weights, config: config)
    }
}
