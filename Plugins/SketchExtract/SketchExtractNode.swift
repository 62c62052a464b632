import Foundation
import TCCore
import TCImageIO
import TCModels
import TCPluginKit

/// SketchExtract: IMAGE frames → SKETCH (white lines on black, `present` mask) for sketch guidance.
enum SketchExtractNode {
    static let definition = NodeDefinition(
        type: "SketchExtract",
        doc: """
            Turn frames into sketch hints for sketch-guided interpolation and colourisation: white lines on \
            black in 0…1, one channel, plus a per-frame `present` mask (frames without a sketch are all zero \
            and still guide the model as "no lines here").
            Methods: `drawn` — the input already is line art (pencil or ink drawings, exported line layers); \
            `dog` (default) — lines from colour frames without weights (darkness difference of Gaussians, \
            ControlNet's lineart_standard: ink lines, not colour edges); `xdog` — extended DoG, sharper, \
            also marks strong colour edges; `anime2sketch` — the Anime2Sketch network that made the sketch \
            encoder's training sketches (needs sketch_extractor.pth or netG.pth in the model folders; any \
            size: each side is resized up to a multiple of 256 and back).
            Polarity (method drawn): `black_on_white` (drawings on paper, inverted), `white_on_black` (used \
            as is), `auto` (default: per frame, the paper is the majority — at least half the pixels light \
            means black lines on white). Transparent pixels count as paper. Linear-light input \
            (colorspace=linear, e.g. EXR) is sRGB-encoded first.
            Frames: `frames` is the clip length the sketches guide (0 = the number of input frames). \
            `pattern` picks which frames keep a sketch: dense (all), endpoints (first and last), \
            bisection1…bisection4 (the paper's sparse guidance: for 16 frames {0,7,15}, {0,3,7,11,15}, \
            {0,1,3,…,13,15}, all), or frame indices like 0,5,15. The input is either one frame per clip \
            frame (the pattern then blanks the others) or exactly one frame per pattern frame, in order.
            Size: with width and height the sketches are fitted like the keyframes (short side resized to \
            min(width, height), centre crop); by default they keep the input size and Denoise fits them \
            to the model the same way, so sketches drawn over the keyframes stay aligned.
            Metadata: method, pattern, polarity (per frame, for drawn), fps and source from the input.
            """,
        inputs: [Port("images", .image, doc: "Frames to take lines from (or drawings, with method drawn).")],
        outputs: [Port("sketch", .sketch, doc: "Sketch hints [T, H, W, 1] and the present mask [T].")],
        params: [
            .choice("method", ["dog", "xdog", "anime2sketch", "drawn"], default: "dog", doc: "How lines are obtained."),
            .choice("polarity", LinePolarity.allCases.map(\.rawValue), default: "auto", doc: "Line polarity of drawn input."),
            .string("pattern", default: "dense", doc: "dense | endpoints | bisection1…4 | frame indices (0,7,15)."),
            .int("frames", default: 0, min: 0, max: 4096, doc: "Frames of the guided clip (0 = the input's frame count)."),
            .int("width", default: 0, min: 0, max: 16384, doc: "Output width (0 = the input's; set both or neither)."),
            .int("height", default: 0, min: 0, max: 16384, doc: "Output height (0 = the input's; set both or neither)."),
            .path("model", doc: "Anime2Sketch weights (default: sketch_extractor.pth or netG.pth from the model folders)."),
        ],
        run: run)

    static func run(_ ctx: NodeContext) throws {
        let input = try ctx.requiredInput("images")
        var images = try input.require("images", port: "images")
        if input.meta["colorspace"] == "linear" { images = ColorTransfer.convert(images, toLinear: false) }
        let method = try ctx.string("method")
        let pattern = try SparseGuidance.Pattern(parsing: try ctx.string("pattern"))
        let requested = try ctx.int("frames")
        let inputCount = images.rank == 4 ? images.dim(0) : 0
        let frameCount = requested > 0 ? requested : inputCount
        let selected = try pattern.frames(count: frameCount)
        guard inputCount == frameCount || inputCount == selected.count else {
            throw NodeError("input 'images' has \(inputCount) frame\(inputCount == 1 ? "" : "s"); pattern \(pattern) over \(frameCount) frames needs \(frameCount) (one per frame) or \(selected.count) (one per sketched frame: \(selected.map(String.init).joined(separator: ",")))")
        }

        var meta: [String: String] = ["method": method, "pattern": pattern.description]
        for key in ["fps", "source"] { meta[key] = input.meta[key] }
        let lines: SketchFrames
        switch method {
        case "drawn":
            let (sketches, used) = try SketchFrames.fromDrawings(images, polarity: try LinePolarity(parsing: try ctx.string("polarity")))
            lines = sketches
            meta["polarity"] = used.map(\.rawValue).joined(separator: ",")
        case "xdog":
            lines = try XDoG()(images)
        case "anime2sketch":
            let candidates = try ctx.optionalString("model").map { [$0] } ?? SketchModelFiles.anime2SketchNames
            let net = try Anime2Sketch(try ctx.weights(candidates, whereToGet: SketchModelFiles.anime2SketchSource))
            lines = try extractFrameByFrame(images, ctx: ctx) { try net.lineArt(from: $0) }
        default:
            lines = try DarknessDoG()(images)
        }

        // One input per clip frame: the pattern blanks the rest; one per pattern frame: placed there.
        var sketches = inputCount == frameCount
            ? try lines.keeping(selected)
            : try SketchFrames.sparse(Dictionary(uniqueKeysWithValues: zip(selected, (0..<inputCount).map { lines.frames[$0] })),
                                      frameCount: frameCount, height: lines.height, width: lines.width)
        let width = try ctx.int("width"), height = try ctx.int("height")
        guard (width == 0) == (height == 0) else {
            throw NodeError("set both width and height (or neither): got width \(width), height \(height)")
        }
        if width > 0 { sketches = try sketches.fitted(height: height, width: width) }

        try ctx.setOutput("sketch", TensorBundle([
            ("sketch", sketches.frames),
            ("present", Tensor(sketches.present.map { $0 ? 1 : 0 }, [sketches.count]).converted(to: .u8)),
        ], meta: meta))
    }

    /// Runs a slow extractor one frame at a time with progress and cancellation.
    static func extractFrameByFrame(_ images: Tensor, ctx: NodeContext, _ extract: (Tensor) throws -> SketchFrames) throws -> SketchFrames {
        let t = images.dim(0)
        var frames: [Tensor] = []
        for f in 0..<t {
            try ctx.checkCancelled()
            frames.append(try extract(images.sliced(axis: 0, f..<(f + 1)).contiguous()).frames)
            ctx.progress(f + 1, of: t, "frame \(f + 1)/\(t)")
        }
        return try SketchFrames(frames: concat(frames, axis: 0))
    }
}
