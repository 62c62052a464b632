/// Floating-point operations of one UNet forward, counted the way `torch.utils.flop_counter`
/// counts the reference (spec §5.2): 2 per multiply–accumulate of every convolution (temporal
/// convs over their zero-padded taps, init_attn's Conv1d projections), every Linear, and the
/// attention score and value products; norms, activations, softmax and elementwise ops are not
/// counted. Context projections are counted per frame, as the reference computes them (this port
/// projects the constant context once per sampling run, so it does less work than counted).
public struct UNetFLOPs: Equatable, Sendable {
    public var convolution = 0.0
    public var linear = 0.0
    public var attention = 0.0
    public var total: Double { convolution + linear + attention }
}

extension UNetConfig {
    /// One forward on `batch` videos of `frames` frames at latent h×w with a context of
    /// `contextLength` tokens (per-frame image tokens when it is 77 + 16·frames).
    public func flops(batch b: Int, frames t: Int, height h0: Int, width w0: Int, contextLength: Int) -> UNetFLOPs {
        var f = UNetFLOPs()
        let n = Double(b * t), e = Double(timeEmbedDim)
        let perFrame = contextLength == DynamiCrafterUNet.textTokens + DynamiCrafterUNet.imageTokensPerFrame * t
        let textKeys = Double(min(DynamiCrafterUNet.textTokens, contextLength))
        let imageKeys = imageCrossAttention
            ? Double(perFrame ? DynamiCrafterUNet.imageTokensPerFrame : max(contextLength - DynamiCrafterUNet.textTokens, 0)) : 0

        func conv(_ cin: Int, _ cout: Int, _ k: Int, _ pixels: Int) { f.convolution += 2 * n * Double(pixels * cout * cin * k) }
        func linear(_ rows: Double, _ i: Int, _ o: Int) { f.linear += 2 * rows * Double(i * o) }
        func attend(_ sequences: Double, _ heads: Int, _ lq: Int, _ lk: Double, _ d: Int) {
            f.attention += 2 * 2 * sequences * Double(heads * lq * d) * lk
        }
        /// One BasicTransformerBlock on `sequences` × `length` tokens of width `inner`.
        func block(_ sequences: Double, _ length: Int, _ inner: Int, _ heads: Int, _ d: Int, cross: Bool) {
            let rows = sequences * Double(length)
            linear(rows, inner, inner * 3)
            attend(sequences, heads, length, Double(length), d)
            linear(rows, inner, inner)
            linear(rows, inner, inner)
            if cross {
                let keys = textKeys + imageKeys
                linear(sequences * keys, contextDim, inner * 2)
                attend(sequences, heads, length, keys, d)
            } else {
                linear(rows, inner, inner * 2)
                attend(sequences, heads, length, Double(length), d)
            }
            linear(rows, inner, inner)
            linear(rows, inner, inner * 8)
            linear(rows, inner * 4, inner)
        }
        func spatial(_ c: Int, _ pixels: Int) {
            let (heads, d) = self.heads(for: c)
            let inner = heads * d
            linear(n * Double(pixels), c, inner)
            for _ in 0..<transformerDepth { block(n, pixels, inner, heads, d, cross: true) }
            linear(n * Double(pixels), inner, c)
        }
        func temporal(_ c: Int, _ pixels: Int, heads: Int, d: Int, conv1d: Bool) {
            let inner = heads * d, rows = n * Double(pixels)
            if conv1d { f.convolution += 2 * 2 * rows * Double(c * inner) } else { linear(rows, c, inner); linear(rows, inner, c) }
            for _ in 0..<transformerDepth { block(Double(b * pixels), t, inner, heads, d, cross: false) }
        }
        func res(_ cin: Int, _ cout: Int, _ pixels: Int) {
            conv(cin, cout, 9, pixels)
            linear(n, timeEmbedDim, cout)
            conv(cout, cout, 9, pixels)
            if cin != cout { conv(cin, cout, 1, pixels) }
            if temporalConv { for _ in 0..<4 { conv(cout, cout, 3, pixels) } }
        }
        func attentionLayers(_ c: Int, _ pixels: Int) {
            spatial(c, pixels)
            if temporalAttention {
                let (heads, d) = self.heads(for: c)
                temporal(c, pixels, heads: heads, d: d, conv1d: false)
            }
        }

        f.linear += 2 * Double(b) * (Double(modelChannels) * e + e * e) * (fsCondition ? 2 : 1)
        let mc = modelChannels
        var h = h0, w = w0
        conv(inChannels, mc, 9, h * w)
        if additionAttention {
            let (heads, d) = initAttnHeads
            temporal(mc, h * w, heads: heads, d: d, conv1d: true)
        }
        var skips = [mc], ch = mc, ds = 1
        for (level, mult) in channelMult.enumerated() {
            for _ in 0..<numResBlocks {
                res(ch, mult * mc, h * w)
                ch = mult * mc
                if attentionResolutions.contains(ds) { attentionLayers(ch, h * w) }
                skips.append(ch)
            }
            if level != channelMult.count - 1 {
                h = (h + 1) / 2
                w = (w + 1) / 2
                conv(ch, ch, 9, h * w)
                skips.append(ch)
                ds *= 2
            }
        }
        res(ch, ch, h * w)
        attentionLayers(ch, h * w)
        res(ch, ch, h * w)
        for (level, mult) in channelMult.enumerated().reversed() {
            for i in 0...numResBlocks {
                res(ch + skips.removeLast(), mult * mc, h * w)
                ch = mult * mc
                if attentionResolutions.contains(ds) { attentionLayers(ch, h * w) }
                if level > 0 && i == numResBlocks {
                    h *= 2
                    w *= 2
                    conv(ch, ch, 9, h * w)
                    ds /= 2
                }
            }
        }
        conv(mc, outChannels, 9, h * w)
        return f
    }
}
