import Foundation
import TCCore
import TCModels
import TCPluginKit

/// Colorize: a mode adapter in front of Encode and Denoise for reference-based colourisation.
enum ColorizeNode {
    static let definition = NodeDefinition(
        type: "Colorize",
        doc: """
            Colour a sketch animation from one or two coloured frames: routes the references to Encode as \
            the keyframes and the sketches to Denoise, so the model interpolates between the references \
            while every frame follows its sketch.
            Two references (`reference` = the colour version of the first sketch, `reference_last` of the \
            last): dual-reference colourisation; exactly `frames` sketches, one per output frame.
            One reference: loop mode, as ToonCrafter's single-reference demos run — the reference is used at \
            both ends, the last model frame gets the first sketch (the clip returns to the reference) and \
            DetailDecode drops that last frame (metadata loop=1, which Encode copies from `first`). Give \
            `frames` − 1 sketches (one per output frame; the first is appended as the last) or `frames` (the \
            last is replaced by the first, with a notice).
            Sketches should be dense (one per frame; a blank one only constrains that frame to \"no lines\"). \
            Each reference must be one frame. Sketches and references may differ in size: Encode and Denoise \
            fit both to the model the same way (short side, centre crop), so they stay aligned when they \
            share an aspect ratio; a different aspect ratio is reported, since the crops then differ.
            """,
        inputs: [
            Port("sketch", .sketch, doc: "Dense sketches, one per output frame."),
            Port("reference", .image, doc: "The colour reference (the first frame's colours)."),
            Port("reference_last", .image, optional: true, doc: "The last frame's colours (dual-reference mode)."),
        ],
        outputs: [
            Port("first", .image, doc: "First keyframe for Encode."),
            Port("last", .image, doc: "Last keyframe for Encode (the reference again in loop mode)."),
            Port("sketch", .sketch, doc: "Sketches for Denoise, one per model frame."),
        ],
        params: [
            .int("frames", default: 16, min: 2, max: 4096, doc: "Frames the model generates (ToonCrafter: 16)."),
        ],
        run: run)

    static func run(_ ctx: NodeContext) throws {
        let sketchIn = try ctx.requiredInput("sketch")
        let sketches = try SketchConditioning.frames(sketch: try sketchIn.require("sketch", port: "sketch"),
                                                      present: sketchIn["present"])
        let reference = try ctx.requiredInput("reference")
        let referenceLast = try ctx.input("reference_last")
        let first = try oneFrame(reference, port: "reference")
        let last = try referenceLast.map { try oneFrame($0, port: "reference_last") }
        let mode: Colorization.Mode = last == nil ? .singleReference : .dualReference
        let (model, notes) = try Colorization.modelSketches(sketches, frames: try ctx.int("frames"), mode: mode)
        for note in notes { ctx.log(note, level: .warning) }
        for (name, image) in [("reference", first)] + (last.map { [("reference_last", $0)] } ?? []) {
            let a = Double(image.dim(2)) / Double(image.dim(1)), b = Double(sketches.width) / Double(sketches.height)
            if abs(a / b - 1) > 0.01 {
                ctx.log("\(name) is \(image.dim(2))×\(image.dim(1)) but the sketches are \(sketches.width)×\(sketches.height): " +
                        "different aspect ratios are cropped differently, so lines and colours may not line up", level: .warning)
            }
        }

        let loop = mode == .singleReference ? "1" : "0"
        var firstMeta = reference.meta
        firstMeta["loop"] = loop
        firstMeta["colorize"] = mode.rawValue
        try ctx.setOutput("first", TensorBundle([("images", first)], meta: firstMeta))
        try ctx.setOutput("last", TensorBundle([("images", last ?? first)], meta: referenceLast?.meta ?? firstMeta))
        var sketchMeta = sketchIn.meta
        sketchMeta["loop"] = loop
        try ctx.setOutput("sketch", TensorBundle([
            ("sketch", model.frames),
            ("present", Tensor(model.present.map { $0 ? 1 : 0 }, [model.count]).converted(to: .u8)),
        ], meta: sketchMeta))
    }

    /// The single frame of a reference IMAGE, kept as (1, H, W, C).
    static func oneFrame(_ bundle: TensorBundle, port: String) throws -> Tensor {
        let images = try bundle.require("images", port: port)
        guard images.rank == 4, images.dim(0) == 1, [3, 4].contains(images.dim(3)) else {
            throw NodeError("input '\(port)': expected one colour frame [1, H, W, 3|4], got \(images.shape)" +
                            (images.rank == 4 && images.dim(0) > 1 ? " (pick one frame with Load's first/last)" : ""))
        }
        return images
    }
}
