import TCCore

/// Classifier-free guidance with guidance rescale (spec §1.10 steps 2–3, Q11).
public struct Guidance: Sendable, Equatable {
    public var scale: Float = 7.5
    /// φ of Lin et al. 2023 §3.4; 0 disables the rescale.
    public var rescale: Float = 0.7

    public init(scale: Float = 7.5, rescale: Float = 0.7) {
        self.scale = scale
        self.rescale = rescale
    }

    /// v = v_u + s·(v_c − v_u); then v ← φ·v·std(v_c)/std(v) + (1−φ)·v, std per video over all
    /// other axes, unbiased. Without an unconditional prediction, or at scale 1 (where the
    /// reference skips guidance and its rescale altogether), v = v_c.
    public func combine(cond: Tensor, uncond: Tensor?) -> Tensor {
        guard let uncond, scale != 1 else { return cond.contiguous() }
        let v = uncond + (cond - uncond) * scale
        guard rescale > 0 else { return v }
        let b = v.dim(0), n = v.count / max(b, 1)
        let vc = cond.contiguous()
        let out = Tensor(empty: v.shape)
        for i in 0..<b {
            let ratio = standardDeviation(vc.f32 + i * n, n) / standardDeviation(v.f32 + i * n, n)
            let src = v.f32 + i * n, dst = out.f32 + i * n
            for j in 0..<n { dst[j] = rescale * (src[j] * ratio) + (1 - rescale) * src[j] }
        }
        return out
    }
}

/// Unbiased (N−1) standard deviation, accumulated in float64, rounded to float32.
func standardDeviation(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var s = 0.0
    for i in 0..<n { s += Double(p[i]) }
    let mean = s / Double(n)
    var q = 0.0
    for i in 0..<n { let d = Double(p[i]) - mean; q += d * d }
    return Float((q / Double(max(n - 1, 1))).squareRoot())
}
