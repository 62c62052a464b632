import TCCore
import TCModels
import TCPluginKit

/// What the COND, REFS and LATENT ports of the interpolation nodes carry (the lead's port
/// contracts): tensor names, layouts and metadata, written and checked in one place.
///
/// - COND: `context`, `uncond_context` (1, L, D); `c_concat` (1, C, T, h, w), the keyframe latents
///   at frames 0 and T−1. Metadata `frames`, `height`, `width`, `model` (the file), `model_name`,
///   `prompt`, `loop`.
/// - REFS: `ref.0` … `ref.L` (2, C_i, h_i, w_i), the encoder taps of the first and last keyframe.
///   Metadata `model`, `height`, `width`.
/// - LATENT: `latents` (T, C, h, w), already multiplied by the scale factor; COND's metadata with
///   `frames` = T and the sampler's settings.
public enum InterpolationBundles {
    public struct Cond {
        public let context: Tensor
        public let unconditionalContext: Tensor
        public let concat: Tensor
        public let meta: [String: String]

        /// The keyframe latents (2, C, h, w) the c_concat holds at its ends.
        public var keyframeLatents: Tensor { get throws { try TCModels.keyframeLatents(concat: concat) } }
    }

    public static func cond(_ c: InterpolationConditioning, frames: Int, meta: [String: String]) throws -> TensorBundle {
        var m = meta
        m["frames"] = "\(frames)"
        return TensorBundle([("context", c.context), ("uncond_context", c.unconditionalContext),
                             ("c_concat", try c.concat(frames: frames))], meta: m)
    }

    public static func readCond(_ b: TensorBundle, port: String) throws -> Cond {
        let context = try b.require("context", port: port), uncond = try b.require("uncond_context", port: port)
        let concat = try b.require("c_concat", port: port)
        guard context.rank == 3, context.dim(0) == 1, uncond.shape == context.shape else {
            throw NodeError("input '\(port)': context \(context.shape) and uncond_context \(uncond.shape) must both be (1, L, D)")
        }
        guard concat.rank == 5, concat.dim(0) == 1, concat.dim(2) >= 2 else {
            throw NodeError("input '\(port)': c_concat must be (1, C, T ≥ 2, h, w), got \(concat.shape)")
        }
        return Cond(context: context.float32(), unconditionalContext: uncond.float32(), concat: concat.float32(), meta: b.meta)
    }

    public static func refs(_ r: DecoderReferences, meta: [String: String]) -> TensorBundle {
        TensorBundle(r.features.enumerated().map { ("ref.\($0.offset)", $0.element) }, meta: meta)
    }

    public static func readRefs(_ b: TensorBundle, port: String) throws -> DecoderReferences {
        var features: [Tensor] = []
        while let t = b["ref.\(features.count)"] { features.append(t.float32()) }
        guard !features.isEmpty, features.allSatisfy({ $0.rank == 4 && $0.dim(0) == 2 }) else {
            throw NodeError("input '\(port)': expected tensors ref.0, ref.1, … of shape (2, C, h, w), got \(b.tensors.map { "\($0.name) \($0.tensor.shape)" })")
        }
        return try DecoderReferences(hiddenStates: features, frames: 2)
    }

    public static func latents(_ frames: Tensor, meta: [String: String]) -> TensorBundle {
        var m = meta
        m["frames"] = "\(frames.dim(0))"
        return TensorBundle([("latents", frames)], meta: m)
    }

    public static func readLatents(_ b: TensorBundle, port: String) throws -> Tensor {
        let t = try b.require("latents", port: port)
        guard t.rank == 4, t.dim(0) >= 1 else { throw NodeError("input '\(port)': latents must be (T, C, h, w), got \(t.shape)") }
        return t.float32()
    }
}
