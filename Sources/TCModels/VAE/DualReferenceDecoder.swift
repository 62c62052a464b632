import TCCore

/// Spec §2.3: the dual-reference `VideoDecoder` (`first_stage_model.decoder`, time_mode conv-only).
/// Latents (b·t, z, h, w), already divided by the scale factor, → frames (b·t, 3, H, W), not clamped.
/// `post_quant_conv` is not applied: the reference skips it on this path (Q1).
public struct DualReferenceDecoder {
    public let config: VAEConfig
    let convIn: Conv2d
    let midBlock1: VideoResBlock, midAttn: VAEAttentionBlock, midBlock2: VideoResBlock
    /// Indexed by level (0 = full resolution); run from the deepest level up.
    let up: [UpLevel]
    let refinement: [Refinement]
    let normOut: GroupNorm
    let finalCombiner: ReferenceCombiner
    let convOut: Conv2d, timeMixConv: TemporalConv

    struct UpLevel {
        let blocks: [VideoResBlock]
        /// Nearest ×2 then 3×3 conv; none at level 0.
        let upsample: Conv2d?
    }

    enum Refinement {
        case fusion(ReferenceFusion)
        case combiner(ReferenceCombiner)
    }

    /// Keys under `first_stage_model.` that decoding never reads (Q1).
    public static let unusedKeys = ["post_quant_conv.weight", "post_quant_conv.bias"]

    /// `w` is scoped at the autoencoder (`first_stage_model.`).
    public init(_ w: WeightReader, config: VAEConfig = .toonCrafter) throws {
        self.config = config
        let d = w.scoped("decoder")
        var cin = config.bottleneckChannels
        convIn = try Conv2d(d, "conv_in", in: config.zChannels, out: cin, kernel: 3)
        midBlock1 = try VideoResBlock(d, "mid.block_1", in: cin, out: cin)
        midAttn = try VAEAttentionBlock(d, "mid.attn_1", channels: cin)
        midBlock2 = try VideoResBlock(d, "mid.block_2", in: cin, out: cin)
        var levels = [UpLevel?](repeating: nil, count: config.levels)
        var refs = [Refinement?](repeating: nil, count: config.levels)
        for i in (0..<config.levels).reversed() {
            let cout = config.channels(level: i)
            var blocks: [VideoResBlock] = []
            for j in 0...config.numResBlocks {
                blocks.append(try VideoResBlock(d, "up.\(i).block.\(j)", in: cin, out: cout))
                cin = cout
            }
            let upsample = i == 0 ? nil : try Conv2d(d, "up.\(i).upsample.conv", in: cout, out: cout, kernel: 3)
            levels[i] = UpLevel(blocks: blocks, upsample: upsample)
            refs[i] = config.fusionLevels.contains(i)
                ? .fusion(try ReferenceFusion(d, "attn_refinement.\(i)", channels: cout))
                : .combiner(try ReferenceCombiner(d, "attn_refinement.\(i)", channels: cout))
        }
        up = levels.map { $0! }
        refinement = refs.map { $0! }
        normOut = try GroupNorm(d, "norm_out", channels: cin, eps: 1e-6)
        finalCombiner = try ReferenceCombiner(d, "attn_refinement.\(config.levels)", channels: cin)
        convOut = try Conv2d(d, "conv_out", in: cin, out: config.outChannels, kernel: 3)
        timeMixConv = try TemporalConv(d, "conv_out.time_mix_conv", channels: config.outChannels)
    }

    /// References with the Fusion keys/values computed: shared by every frame, chunk and decode.
    public struct PreparedReferences {
        public let references: DecoderReferences
        let keysValues: [Int: (k: Tensor, v: Tensor)]
    }

    public func prepare(_ refs: DecoderReferences) throws -> PreparedReferences {
        guard refs.features.count == config.levels + 1 else {
            throw ModelInputError.invalid(argument: "decoder references",
                                          reason: "\(refs.features.count) feature maps, expected \(config.levels + 1)")
        }
        for i in 0...config.levels {
            let c = i == config.levels ? config.ch : config.channels(level: i)
            guard refs.features[i].dim(1) == c else {
                throw ModelInputError.shape(argument: "decoder reference \(i)", expected: "(2·b, \(c), h, w)",
                                            got: refs.features[i].shape)
            }
        }
        var kv: [Int: (k: Tensor, v: Tensor)] = [:]
        for (i, r) in refinement.enumerated() {
            if case let .fusion(f) = r { kv[i] = f.keysValues(refs.features[i]) }
        }
        return PreparedReferences(references: refs, keysValues: kv)
    }

    /// Decodes one chunk: `z` holds b videos of `frames` frames each, frame-major.
    public func callAsFunction(_ z: Tensor, references p: PreparedReferences, frames t: Int) throws -> Tensor {
        let refs = p.references
        guard z.rank == 4, z.dim(1) == config.zChannels, t >= 1, z.dim(0) == refs.videos * t else {
            throw ModelInputError.shape(argument: "decoder latents",
                                        expected: "(\(refs.videos)·\(t), \(config.zChannels), h, w) for \(refs.videos) video(s) of \(t) frames",
                                        got: z.shape)
        }
        let scale = 1 << (config.levels - 1)
        for i in 0...config.levels {
            let s = i == config.levels ? scale : scale >> i
            let f = refs.features[i]
            guard f.dim(2) == z.dim(2) * s, f.dim(3) == z.dim(3) * s else {
                throw ModelInputError.shape(argument: "decoder reference \(i)",
                                            expected: "(2·b, C, \(z.dim(2) * s), \(z.dim(3) * s)) for latents \(z.dim(2))×\(z.dim(3))",
                                            got: f.shape)
            }
        }
        // (b t) z h w → (b t) C h w
        var h = convIn(z)
        // `consume` hands each activation to the block that replaces it, so it can be freed early.
        h = midBlock1(consume h, frames: t)
        h = midAttn(h)
        h = midBlock2(consume h, frames: t)
        // The upsample ending level i+1 is applied frame by frame inside level i's first block.
        var pendingUpsample: Conv2d?
        for i in (0..<config.levels).reversed() {
            for block in up[i].blocks {
                h = block(consume h, frames: t, upsample: pendingUpsample)
                pendingUpsample = nil
            }
            switch refinement[i] {
            case let .fusion(f): h = f(h, keysValues: p.keysValues[i]!, frames: t)
            case let .combiner(c): c.add(to: h, reference: refs.features[i], frames: t)
            }
            pendingUpsample = up[i].upsample
        }
        h = normOut(h, silu: true)
        finalCombiner.add(to: h, reference: refs.features[config.levels], frames: t)
        h = framewise(h) { convOut($0) }
        return timeMixConv(h, frames: t)
    }
}
