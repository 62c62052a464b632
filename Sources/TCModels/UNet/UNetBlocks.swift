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

extension UNetContext {
    /// Prepared contexts stacked as one batch, in order (e.g. the conditional context and a cached
    /// unconditional one, for the batched guidance call). All must be for the same model and frame
    /// count, with the same context length.
    public static func batched(_ parts: [UNetContext]) throws -> UNetContext {
        guard let first = parts.first else {
            throw ModelInputError.invalid(argument: "contexts", reason: "nothing to batch")
        }
        guard parts.allSatisfy({ $0.frames == first.frames && Set($0.attention.keys) == Set(first.attention.keys) }) else {
            throw ModelInputError.invalid(argument: "contexts", reason: "prepared for different models or frame counts")
        }
        func stack(_ kvs: [KeyValues], _ batches: [Int]) throws -> KeyValues {
            let perVideo = kvs[0].k.dim(0) / batches[0]
            guard zip(kvs, batches).allSatisfy({ $0.k.dim(0) == perVideo * $1 && $0.k.shape.dropFirst() == kvs[0].k.shape.dropFirst() }) else {
                throw ModelInputError.invalid(argument: "contexts", reason: "contexts of different lengths cannot share a batch")
            }
            return KeyValues(k: concat(kvs.map(\.k), axis: 0), v: concat(kvs.map(\.v), axis: 0))
        }
        let batches = parts.map(\.batch)
        var attention: [String: [AttentionContext]] = [:]
        for (key, contexts) in first.attention {
            attention[key] = try contexts.indices.map { i in
                let all = parts.map { $0.attention[key]![i] }
                let images = all.compactMap(\.image)
                guard images.isEmpty || images.count == all.count else {
                    throw ModelInputError.invalid(argument: "contexts", reason: "contexts of different lengths cannot share a batch")
                }
                return AttentionContext(text: try stack(all.map(\.text), batches),
                                        image: images.isEmpty ? nil : try stack(images, batches))
            }
        }
        return UNetContext(attention: attention, batch: batches.reduce(0, +), frames: first.frames)
    }
}
