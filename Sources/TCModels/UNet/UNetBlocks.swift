import TCCore

/// One layer of a `TimestepEmbedSequential` in the reference: the UNet's blocks are lists of these,
/// keyed `input_blocks.{i}.{j}`, `middle_block.{j}`, `output_blocks.{i}.{j}`.
enum UNetLayer {
    case conv(Conv2d)
    case res(ResBlock)
    case spatial(SpatialTransformer, key: String)
    case temporal(TemporalTransformer)
    case down(Downsample)
    case up(Upsample)
}

/// A block of the UNet: its layers run in order with the same embedding and context.
struct UNetBlock {
    let key: String
    let layers: [UNetLayer]

    func callAsFunction(_ x: Tensor, emb: Tensor, context: UNetContext) -> Tensor {
        var h = x
        for layer in layers {
            switch layer {
            case let .conv(c): h = c(h)
            case let .res(r): h = r(h, emb: emb, frames: context.frames)
            case let .spatial(s, key): h = s(h, context: context.attention[key]!)
            case let .temporal(t): h = t(h, frames: context.frames)
            case let .down(d): h = d(h)
            case let .up(u): h = u(h)
            }
        }
        return h
    }

    var spatialTransformers: [(String, SpatialTransformer)] {
        layers.compactMap { if case let .spatial(s, key) = $0 { (key, s) } else { nil } }
    }
}

/// The cross-attention context of one UNet call, projected by every SpatialTransformer's attn2.
/// The context is constant over a sampling run, so this is computed once per run (spec §5.3) and
/// shared by all steps; for classifier-free guidance it holds both branches as one batch.
public struct UNetContext {
    /// SpatialTransformer key → one projected context per transformer block.
    let attention: [String: [AttentionContext]]
    public let batch: Int
    public let frames: Int
}
