import TCCore

/// How a transformer's channels split into attention heads in the reference UNet and ControlNet:
/// `num_head_channels` fixes each head's width, otherwise `num_heads` fixes their number.
public protocol HeadSplitting {
    /// Channels per head; heads = C / numHeadChannels. When nil, `numHeads` is fixed instead.
    var numHeadChannels: Int? { get }
    var numHeads: Int? { get }
}

extension HeadSplitting {
    /// Heads and channels per head of a transformer over `channels` (the reference's rule; with
    /// num_head_channels set, `legacy` does not change it).
    public func heads(for channels: Int) -> (heads: Int, dHead: Int) {
        if let d = numHeadChannels { return (channels / d, d) }
        let h = numHeads ?? 1
        return (h, channels / h)
    }
}

/// `num_head_channels` and `num_heads` of a config's params (-1 or absent = unset, as in the
/// reference); the first wins when both are set.
func parseHeadSplit(_ p: ConfigDict) throws -> (numHeadChannels: Int?, numHeads: Int?) {
    let nhc = try p.int("num_head_channels", default: -1)
    let nh = try p.int("num_heads", default: -1)
    guard nhc > 0 || nh > 0 else {
        throw ConfigError.invalid(path: p.path, reason: "either num_heads or num_head_channels has to be set")
    }
    return nhc > 0 ? (nhc, nil) : (nil, nh)
}
