import TCCore

/// The constructor parameters of `cldm.cldm.ControlNet` (`control_stage_config.params` of
/// `configs/cldm_v21.yaml`), with the released sketch encoder's values as defaults
/// (sketch-and-colorize.md §0, §1.2): an SD-2.1 encoder copy on the 4-channel noisy latent with a
/// 1-channel hint.
public struct ControlNetConfig: HeadSplitting, Equatable, Sendable, CustomStringConvertible {
    public var inChannels = 4
    public var hintChannels = 1
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

    public init() {}

    /// The widths of `input_hint_block` before its last conv (fixed, not scaled with
    /// model_channels) and which of its convs have stride 2.
    public static let hintWidths = [16, 16, 32, 32, 96, 96, 256]
    public static let hintStrides = [1, 1, 2, 1, 2, 1, 2]

    public var timeEmbedDim: Int { modelChannels * 4 }

    /// Channels of the 13 residuals: one per input block (zero_convs.0…), then middle_block_out.
    public var residualChannels: [Int] {
        var out = [modelChannels]
        for (level, mult) in channelMult.enumerated() {
            out += Array(repeating: mult * modelChannels, count: numResBlocks)
            if level != channelMult.count - 1 { out.append(mult * modelChannels) }
        }
        return out + [out.last!]
    }

    public var description: String {
        "ControlNet(in \(inChannels), hint \(hintChannels), model_channels \(modelChannels), channel_mult \(channelMult), " +
            "\(numResBlocks) res blocks, attention at \(attentionResolutions), " +
            (numHeadChannels.map { "\($0) channels per head" } ?? "\(numHeads ?? 1) heads") + ", context \(contextDim))"
    }

    /// Parses `control_stage_config.params` (or a dict holding `params`, or one holding
    /// `control_stage_config`). Switches that change the network and that the sketch encoder's
    /// config never sets are refused rather than ignored.
    public init(_ c: ConfigDict) throws {
        let outer = c.has("control_stage_config") ? try c.dict("control_stage_config") : c
        let p = outer.has("params") ? try outer.dict("params") : outer
        inChannels = try p.int("in_channels")
        hintChannels = try p.int("hint_channels")
        modelChannels = try p.int("model_channels")
        attentionResolutions = try p.ints("attention_resolutions")
        numResBlocks = try p.int("num_res_blocks")
        channelMult = p.has("channel_mult") ? try p.ints("channel_mult") : [1, 2, 4, 8]
        (numHeadChannels, numHeads) = try parseHeadSplit(p)
        transformerDepth = try p.int("transformer_depth", default: 1)
        contextDim = try p.int("context_dim")
        useLinear = try p.bool("use_linear_in_transformer", default: false)
        // legacy=True with num_heads set makes dim_head = ch // num_heads, which `heads(for:)`
        // already does; with num_head_channels it changes nothing.
        _ = try p.bool("legacy", default: true)

        guard try p.bool("use_spatial_transformer", default: false) else {
            throw ConfigError.invalid(path: "\(p.path).use_spatial_transformer",
                                      reason: "false (AttentionBlock instead of SpatialTransformer) is not supported by this port")
        }
        let refused: [(String, Bool)] = [
            ("use_scale_shift_norm", try p.bool("use_scale_shift_norm", default: false)),
            ("resblock_updown", try p.bool("resblock_updown", default: false)),
            ("disable_middle_self_attn", try p.bool("disable_middle_self_attn", default: false)),
            ("num_attention_blocks", p.has("num_attention_blocks")),
            ("disable_self_attentions", p.has("disable_self_attentions")),
        ]
        for (key, on) in refused where on {
            throw ConfigError.invalid(path: "\(p.path).\(key)", reason: "is not supported by this port")
        }
        guard try p.int("dims", default: 2) == 2, try p.bool("conv_resample", default: true) else {
            throw ConfigError.invalid(path: p.path, reason: "only dims 2 with conv_resample is supported")
        }
        try validate(path: p.path)
    }

    func validate(path: String) throws {
        guard modelChannels > 0, modelChannels % 32 == 0, !channelMult.isEmpty, channelMult.allSatisfy({ $0 > 0 }),
              numResBlocks > 0, inChannels > 0, hintChannels > 0, contextDim > 0, transformerDepth > 0 else {
            throw ConfigError.invalid(path: path, reason: "model_channels must be a positive multiple of 32 (GroupNorm 32), " +
                                      "channel_mult, num_res_blocks, in/hint channels, context_dim and depth positive; got \(self)")
        }
        let attended = channelMult.indices.filter { attentionResolutions.contains(1 << $0) || $0 == channelMult.count - 1 }
        for ch in Set(attended.map { channelMult[$0] * modelChannels }) {
            let (heads, dHead) = heads(for: ch)
            guard heads > 0, heads * dHead == ch else {
                throw ConfigError.invalid(path: path, reason: "\(ch) channels do not split into heads (\(self))")
            }
        }
    }
}
