import TCCore

/// Spec §2.3: the decoder's VideoResBlock. The 2-D ResnetBlock runs per frame; `time_stack` is an
/// SVD-style 3-D ResBlock over the chunk (kernel (3,1,1), GroupNorm(32, eps 1e−5) with statistics
/// over C/32 × T × h × w, no time embedding); the two are blended by α = sigmoid(mix_factor).
struct VideoResBlock {
    let spatial: VAEResnetBlock
    let inNorm: GroupNorm, inConv: TemporalConv
    let outNorm: GroupNorm, outConv: TemporalConv
    let alpha: Float

    init(_ w: WeightReader, _ key: String, in inC: Int, out outC: Int) throws {
        spatial = try VAEResnetBlock(w, key, in: inC, out: outC)
        inNorm = try GroupNorm(w, "\(key).time_stack.in_layers.0", channels: outC, eps: 1e-5)
        inConv = try TemporalConv(w, "\(key).time_stack.in_layers.2", channels: outC)
        outNorm = try GroupNorm(w, "\(key).time_stack.out_layers.0", channels: outC, eps: 1e-5)
        outConv = try TemporalConv(w, "\(key).time_stack.out_layers.3", channels: outC)
        alpha = sigmoid(try w("\(key).mix_factor", shape: [1]).scalar)
    }

    /// (b t) Cin h w → (b t) Cout h w, with t = `frames`. With `upsample`, the input is the previous
    /// level's output and each frame is upsampled (nearest ×2, then that conv) just before the
    /// spatial block, so the upsampled clip (2.7 GB at 320×512) never exists as a whole.
    func callAsFunction(_ x: consuming Tensor, frames: Int, upsample: Conv2d? = nil) -> Tensor {
        let y = framewise(x) { f in spatial(upsample.map { $0.afterNearestUpsample2x(f) } ?? f) }
        _ = consume x
        // GroupNorm + SiLU + temporal conv, streamed: the second writes over its input.
        var u = streamedNormalizedTemporalConv(y, norm: inNorm, conv: inConv, frames: frames, inPlace: false)
        // The reference adds a zero time embedding here; dropout is inactive.
        u = streamedNormalizedTemporalConv(consume u, norm: outNorm, conv: outConv, frames: frames, inPlace: true)
        u += y
        u.axpbyInPlace(alpha: alpha, y, beta: 1 - alpha)
        return u
    }
}
