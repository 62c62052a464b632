import TCCore

/// The constructor parameters of the official `openaimodel3d.UNetModel` (`unet_config.params`),
/// with the real 512 interpolation model's values as defaults (spec §2.1).
public struct UNetConfig: HeadSplitting, Equatable, Sendable {
    public var inChannels = 8
    public var outChannels = 4
    public var modelChannels = 320
    public var attentionResolutions: [Int] = [4, 2, 1]
    public var numResBlocks = 2
    public var channelMult: [Int] = [1, 2, 4, 4]
    /// Channels per head; heads = C / numHeadChannels. When nil, `numHeads` is fixed instead.
    public var numHeadChannels: Int? = 64
    public var numHeads: Int? = nil
    public var transformerDepth = 1
    public var contextDim = 1024
    public var useLinear = true
    public var temporalConv = true
    public var temporalAttention = true
    public var additionAttention = true
    public var imageCrossAttention = true
    public var fsCondition = true
    public var defaultFs = 24
    public var temporalLength = 16

    public init() {}

    public var timeEmbedDim: Int { modelChannels * 4 }

    /// `init_attn` always has 8 heads of `num_head_channels` (spec Q15).
    public var initAttnHeads: (heads: Int, dHead: Int) {
        (8, numHeadChannels ?? modelChannels / (numHeads ?? 1))
    }

    /// Parses `unet_config.params` (or a dict holding `params`). Switches this port does not
    /// implement, and that the ToonCrafter configs never set, are refused rather than ignored.
    public init(_ c: ConfigDict) throws {
        let p = c.has("params") ? try c.dict("params") : c
        inChannels = try p.int("in_channels")
        outChannels = try p.int("out_channels")
        modelChannels = try p.int("model_channels")
        attentionResolutions = try p.ints("attention_resolutions")
        numResBlocks = try p.int("num_res_blocks")
        channelMult = p.has("channel_mult") ? try p.ints("channel_mult") : [1, 2, 4, 8]
        (numHeadChannels, numHeads) = try parseHeadSplit(p)
        transformerDepth = try p.int("transformer_depth", default: 1)
        contextDim = try p.int("context_dim")
        useLinear = try p.bool("use_linear", default: false)
        temporalConv = try p.bool("temporal_conv", default: false)
        temporalAttention = try p.bool("temporal_attention", default: true)
        additionAttention = try p.bool("addition_attention", default: false)
        imageCrossAttention = try p.bool("image_cross_attention", default: false)
        fsCondition = try p.bool("fs_condition", default: false)
        defaultFs = try p.int("default_fs", default: 4)
        temporalLength = try p.int("temporal_length", default: 16)

        let refused: [(String, Bool)] = [
            ("use_scale_shift_norm", try p.bool("use_scale_shift_norm", default: false)),
            ("resblock_updown", try p.bool("resblock_updown", default: false)),
            ("use_relative_position", try p.bool("use_relative_position", default: true)),
            ("use_causal_attention", try p.bool("use_causal_attention", default: false)),
            ("tempspatial_aware", try p.bool("tempspatial_aware", default: false)),
            ("image_cross_attention_scale_learnable", try p.bool("image_cross_attention_scale_learnable", default: false)),
        ]
        for (key, on) in refused where on {
            throw ConfigError.invalid(path: "\(p.path).\(key)", reason: "true is not supported by this port")
        }
        if additionAttention, !(try p.bool("temporal_selfatt_only", default: true)) {
            throw ConfigError.invalid(path: "\(p.path).temporal_selfatt_only",
                                      reason: "false (init_attn with cross-attention) is not supported by this port")
        }
        guard try p.int("dims", default: 2) == 2, try p.bool("conv_resample", default: true) else {
            throw ConfigError.invalid(path: p.path, reason: "only dims 2 with conv_resample is supported")
        }
        guard modelChannels % 32 == 0, channelMult.allSatisfy({ $0 > 0 }), numResBlocks > 0 else {
            throw ConfigError.invalid(path: p.path, reason: "model_channels must be a multiple of 32 (GroupNorm 32)")
        }
    }
}
