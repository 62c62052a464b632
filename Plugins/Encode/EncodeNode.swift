import Foundation
import ModelNodeKit
import TCCore
import TCImageIO
import TCModels
import TCPluginKit

/// Encode: two keyframes and a prompt → the conditioning of an interpolation (spec §1.2–1.8).
enum EncodeNode {
    static let definition = NodeDefinition(
        type: "Encode",
        doc: """
            Condition an interpolation on two keyframes and a prompt (ToonCrafter's encoders).
            Each keyframe (one frame per input, any size) is brought to the model's frame size as the reference \
            CLI does: 8-bit RGB, PIL bilinear resize of the short side, centre crop with black padding (`fit: crop`); \
            `fit: pad` keeps the whole frame, centred on black. Linear-light (EXR) frames are converted to sRGB \
            first; alpha is ignored. Only the two keyframes are VAE-encoded (their latents are a posterior sample, \
            drawn from `seed`); the first keyframe is CLIP-embedded and resampled to per-frame image tokens; the \
            prompt and "" are text-encoded; the unconditional context (empty prompt, all-zero image) is computed \
            once per model and process.
            Outputs: COND (context, unconditional context, c_concat with the keyframe latents at the ends, \
            metadata frames/height/width/model/prompt/loop) and REFS (the decoder's reference features).
            Model: `auto` runs the real ToonCrafter files when installed in the model folders (model.ckpt from \
            https://huggingface.co/Doubiiu/ToonCrafter; --models DIR, $TCGRAPH_MODELS, ~/.cache/tcgraph/models), \
            otherwise the small model bundled with tcgraph, with a notice.
            """,
        inputs: [
            Port("first", .image, doc: "The first keyframe (one frame)."),
            Port("last", .image, doc: "The last keyframe (one frame)."),
        ],
        outputs: [
            Port("cond", .cond, doc: "Conditioning for Denoise."),
            Port("refs", .refs, doc: "Reference features of both keyframes for DetailDecode."),
        ],
        params: [
            .string("model", default: "auto", doc: "Model: " + ModelChoice.doc + "."),
            .string("prompt", default: "", doc: "Text prompt (the reference CLI's --text_input)."),
            .choice("fit", KeyframeFit.allCases.map(\.rawValue), default: "crop",
                    doc: "crop: the reference (resize the short side, centre crop); pad: keep the whole frame on black."),
            .int("seed", default: 123, min: 0, max: Int(Int32.max), doc: "Seed of the VAE posterior sample of the keyframe latents."),
            .int("width", default: 0, min: 0, max: 8192, doc: "Frame width (0: the model's, 512 for ToonCrafter)."),
            .int("height", default: 0, min: 0, max: 8192, doc: "Frame height (0: the model's, 320 for ToonCrafter)."),
            NodePrecision.param,
        ],
        run: run)

    /// The unconditional context per model file (path, size, modification time): input-independent.
    nonisolated(unsafe) static var unconditional: [String: Tensor] = [:]
    static let lock = NSLock()

    static func run(_ ctx: NodeContext) throws {
        try NodePrecision.run(ctx) { try compute(ctx) }
    }

    private static func compute(_ ctx: NodeContext) throws {
        let firstIn = try ctx.requiredInput("first"), lastIn = try ctx.requiredInput("last")
        let firstImage = try keyframe(firstIn, port: "first"), lastImage = try keyframe(lastIn, port: "last")
        let opened = try ModelResolution.open(ctx, ModelChoice(try ctx.string("model")), withCLIP: true)
        if opened.isBundled { ctx.log(ModelResolution.bundledNotice(opened)) }
        let model = opened.model
        ModelResolution.logWarnings(ctx, model)
        let c = model.config
        let width = try ctx.int("width"), height = try ctx.int("height")
        let w = width == 0 ? c.width : width, h = height == 0 ? c.height : height
        try c.checkFrameSize(height: h, width: w, argument: "width/height")
        let fit = KeyframeFit(rawValue: try ctx.string("fit"))!
        let prompt = try ctx.string("prompt")

        let a = try preprocessKeyframe(firstImage, height: h, width: w, fit: fit)
        let b = try preprocessKeyframe(lastImage, height: h, width: w, fit: fit)
        try ctx.checkCancelled()
        let identity = fileIdentity(opened.path) + "|" + model.source.sourceName
        lock.lock()
        model.cachedUnconditionalContext = unconditional[identity]
        lock.unlock()
        ctx.progress(0, of: 1, "encoding keyframes")
        let seed = UInt64(try ctx.int("seed"))
        let conditioning = try ConditioningEncoder(model: model).encode(
            first: a, last: b, prompt: prompt, posteriorNoise: SeededGaussianNoise(seed: seed ^ posteriorSalt))
        lock.lock()
        unconditional[identity] = model.cachedUnconditionalContext
        lock.unlock()
        let released = ResidentPages.release(model, prefixes: conditioningPrefixes, files: opened.files)
        ctx.log("released \(released >> 20) MiB of conditioning weights' resident pages", level: .debug)
        try ctx.checkCancelled()
        ctx.progress(1, of: 1, "encoded")

        let meta = ["height": "\(h)", "width": "\(w)", "model": opened.path, "model_name": model.name,
                    "prompt": prompt, "loop": firstIn.meta["loop"] == "1" ? "1" : "0"]
        try ctx.setOutput("cond", try InterpolationBundles.cond(conditioning, frames: c.frames, meta: meta))
        try ctx.setOutput("refs", InterpolationBundles.refs(conditioning.references, meta: meta))
    }

    /// The networks Encode runs; Denoise needs none of them.
    static let conditioningPrefixes = ["cond_stage_model.", "embedder.", "first_stage_model.encoder.",
                                       "first_stage_model.quant_conv.", "image_proj_model."]

    /// Separates the posterior stream from Denoise's sampler stream when both use the same seed.
    static let posteriorSalt: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// One IMAGE frame as the 8-bit sRGB image the reference reads.
    static func keyframe(_ bundle: TensorBundle, port: String) throws -> Tensor {
        let images = try bundle.require("images", port: port)
        guard images.rank == 4, images.dim(3) >= 3, images.dim(1) > 0, images.dim(2) > 0 else {
            throw NodeError("input '\(port)': expected images [T, H, W, 3|4], got \(images.shape)")
        }
        guard images.dim(0) == 1 else {
            throw NodeError("input '\(port)': Encode takes one keyframe per input, got \(images.dim(0)) frames (load a single file, or pick one frame with Load's first/last)")
        }
        var frame = images[0].float32()
        if bundle.meta["colorspace"] == "linear" { frame = ColorTransfer.convert(frame, toLinear: false) }
        return try keyframeBytes(frame)
    }

    static func fileIdentity(_ path: String) -> String {
        let a = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (a?[.size] as? Int) ?? -1
        let time = (a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "\(path)|\(size)|\(time)"
    }
}
