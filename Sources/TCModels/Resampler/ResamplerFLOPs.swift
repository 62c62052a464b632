extension ResamplerConfig {
    /// `batch` sets of `tokens` image tokens: spec §5.2 gives 0.03 TFLOP per image (257 tokens).
    public func flops(batch b: Int, tokens l: Int = 257) -> Double {
        let n = Double(latentCount), l = Double(l), d = Double(dim), i = Double(inner)
        var f = 2 * l * Double(embeddingDim) * d
        let layer = 2 * n * d * i + 2 * (l + n) * d * 2 * i + 2 * 2 * n * (l + n) * i + 2 * n * i * d
            + 2 * 2 * n * d * d * Double(ffMult)
        f += Double(depth) * layer + 2 * n * d * Double(outputDim)
        return Double(b) * f
    }
}
