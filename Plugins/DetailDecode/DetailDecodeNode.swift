import Foundation
import ModelNodeKit
import TCCore
import TCModels
import TCPluginKit

/// DetailDecode: latents + keyframe references → frames (spec §1.11–1.12).
enum DetailDecodeNode {
    static let definition = NodeDefinition(
        type: "DetailDecode",
        doc: """
            Decode latents into frames with ToonCrafter's dual-reference video decoder.
            The decoder attends to the encoder features of both keyframes (REFS), which restores their detail in \
            every frame. As the reference, the latents are decoded in chunks of the model's 16 frames and then once \
            more without latent frames 1 and T−2, and output frames T/2−1 and T/2 come from that second decode \
            (`middle_redecode: true`; false skips it, ~45 % faster). Frames are sRGB in 0…1, clamped as the \
            reference's saver clamps; metadata frames 1…T, fps 8 (the reference's video rate), and the seed. With \
            `loop` = 1 in the latents' metadata (single-reference colourisation) the last frame is dropped.
            Only the decoder is loaded; `model: auto` takes the model that encoded the references.
            """,
        inputs: [
            Port("latents", .latent, doc: "Latents from Denoise."),
            Port("refs", .refs, doc: "Reference features from Encode."),
        ],
        outputs: [Port("images", .image, doc: "Frames [T, H, W, 3], sRGB 0…1.")],
        params: [
            .string("model", default: "auto", doc: "Model: auto (the one in the references' metadata), or as Encode's model parameter."),
            .bool("middle_redecode", default: true, doc: "Re-decode the two middle frames as the reference does."),
            NodePrecision.param,
        ],
        run: run)

    static func run(_ ctx: NodeContext) throws {
        try NodePrecision.run(ctx) { try compute(ctx) }
    }

    private static func compute(_ ctx: NodeContext) throws {
        let latentIn = try ctx.requiredInput("latents"), refsIn = try ctx.requiredInput("refs")
        let latents = try InterpolationBundles.readLatents(latentIn, port: "latents")
        let refs = try InterpolationBundles.readRefs(refsIn, port: "refs")
        let spec = try ctx.string("model")
        let choice: ModelChoice = spec == "auto" || spec.isEmpty ? refsIn.meta["model"].map { .file($0) } ?? .auto : ModelChoice(spec)
        let opened = try ModelResolution.open(ctx, choice, withCLIP: false)
        if opened.isBundled && refsIn.meta["model"] == nil { ctx.log(ModelResolution.bundledNotice(opened)) }
        let decoding = InterpolationDecoding(redecodeMiddleFrames: try ctx.bool("middle_redecode"))
        try ctx.checkCancelled()
        ctx.progress(0, of: decoding.redecodeMiddleFrames ? 2 : 1, "decoding")
        let decoded: Tensor
        do {
            decoded = try decoding.decode(latents, references: refs, model: opened.model,
                                          progress: { done, total in ctx.progress(done, of: total, "decode \(done)/\(total)") },
                                          isCancelled: { ctx.isCancelled })
        } catch SamplingError.cancelled {
            // The flag the loop saw: report the cancellation the host's way.
            try ctx.checkCancelled()
            throw SamplingError.cancelled
        }
        var images = try imageFrames(decoded)
        let loop = latentIn.meta["loop"] == "1"
        if loop && images.dim(0) > 1 { images = images.sliced(axis: 0, 0..<(images.dim(0) - 1)).contiguous() }

        var meta = ["colorspace": "srgb", "fps": "8", "frames": (1...images.dim(0)).map(String.init).joined(separator: ",")]
        for key in ["seed", "model", "model_name", "prompt", "loop"] { meta[key] = latentIn.meta[key] }
        try ctx.setOutput("images", TensorBundle([("images", images)], meta: meta))
    }
}
