/// FLOPs of the CLIP towers as run here, counted like the UNet's and the VAE's (projections and
/// attention products, 2 per multiply–accumulate).
func transformerBlockFLOPs(tokens l: Int, width w: Int, mlpRatio r: Int) -> Double {
    let (l, w, r) = (Double(l), Double(w), Double(r))
    return 2 * l * w * (3 * w + w + 2 * r * w) + 2 * 2 * l * l * w
}

extension OpenCLIPVisionConfig {
    /// `batch` images: spec §5.2 gives 0.335 TFLOP per image at ViT-H/14.
    public func flops(batch b: Int) -> Double {
        let patches = grid * grid
        let embed = 2 * Double(patches * width * 3 * patchSize * patchSize)
        return Double(b) * (embed + Double(layers) * transformerBlockFLOPs(tokens: tokens, width: width, mlpRatio: mlpRatio))
    }
}

extension OpenCLIPTextConfig {
    /// `batch` prompts through the blocks used: spec §5.2 gives 0.045 TFLOP per prompt.
    public func flops(batch b: Int) -> Double {
        Double(b * usedLayers) * transformerBlockFLOPs(tokens: contextLength, width: width, mlpRatio: mlpRatio)
    }
}
