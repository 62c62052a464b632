import TCCore

/// The autoencoder's `ddconfig` (spec §2.2–2.3) plus the first-stage scale factor. Defaults are the
/// real ToonCrafter 512 configuration; parity fixtures override the sizes.
public struct VAEConfig: Sendable, Equatable {
    public var ch = 128
    public var chMult = [1, 2, 4, 4]
    public var numResBlocks = 2
    public var inChannels = 3
    public var outChannels = 3
    public var zChannels = 4
    public var doubleZ = true
    public var embedDim = 4
    /// Decoder levels whose `attn_refinement` is a cross-attention Fusion; the others are Combiners.
    /// Levels beyond the configuration's are ignored, as in the reference (`i_level in attn_level`).
    public var fusionLevels = [2, 3]
    public var scaleFactor: Float = 0.18215

    public static let toonCrafter = VAEConfig()

    public init() {}

    /// From a config holding `first_stage_config` (a parity fixture's `config`, or the official
    /// yaml's `model.params`), from that entry itself, or from a bare `ddconfig`.
    public init(_ c: ConfigDict) throws {
        if c.has("first_stage_config") {
            try self.init(c.dict("first_stage_config"))
            scaleFactor = Float(try c.double("scale_factor", default: Double(scaleFactor)))
            return
        }
        self.init()
        let params = c.has("params") ? try c.dict("params") : c
        let dd = params.has("ddconfig") ? try params.dict("ddconfig") : params
        ch = try dd.int("ch", default: ch)
        if dd.has("ch_mult") { chMult = try dd.ints("ch_mult") }
        numResBlocks = try dd.int("num_res_blocks", default: numResBlocks)
        inChannels = try dd.int("in_channels", default: inChannels)
        outChannels = try dd.int("out_ch", default: outChannels)
        zChannels = try dd.int("z_channels", default: zChannels)
        doubleZ = try dd.bool("double_z", default: doubleZ)
        if dd.has("attn_level") { fusionLevels = try dd.ints("attn_level") }
        embedDim = try params.int("embed_dim", default: embedDim)
        if dd.has("attn_resolutions"), !(try dd.ints("attn_resolutions")).isEmpty {
            throw ConfigError.invalid(path: "\(dd.path).attn_resolutions",
                                      reason: "attention inside the levels is not implemented (ToonCrafter has none)")
        }
        guard !chMult.isEmpty, chMult.allSatisfy({ $0 > 0 }), ch > 0, ch % 32 == 0 else {
            throw ConfigError.invalid(path: dd.path, reason: "ch \(ch) and ch_mult \(chMult) must be positive with ch a multiple of 32 (GroupNorm(32))")
        }
    }

    public var levels: Int { chMult.count }
    /// Channels of level i.
    public func channels(level i: Int) -> Int { ch * chMult[i] }
    /// Channels of the deepest level (the mid block).
    public var bottleneckChannels: Int { ch * chMult[levels - 1] }
}
