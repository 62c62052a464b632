import TCCore

extension CLIPVisionEncoder {
    /// OpenCLIP's normalisation constants.
    public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// `FrozenOpenCLIPImageEmbedderV2.preprocess` (spec §1.5, Q3): images (B, 3, H, W) in [−1, 1] →
    /// kornia resize to S×S (squashed, aspect ratio not kept; Gaussian antialias when shrinking,
    /// reflect border; bicubic A = −0.75 with align_corners) → (x + 1)/2, unclamped → (x − mean)/std.
    public func preprocess(_ image: Tensor) throws -> Tensor {
        guard image.rank == 4, image.dim(1) == 3, image.dim(2) >= 1, image.dim(3) >= 1 else {
            throw ModelInputError.shape(argument: "CLIP image", expected: "(B, 3, H, W)", got: image.shape)
        }
        let s = config.imageSize
        // kornia returns an input of the target size unchanged.
        let resized = image.dim(2) == s && image.dim(3) == s ? image.float32()
            : korniaResize(image, height: s, width: s, mode: .bicubic, alignCorners: true, antialias: true)
        let out = Tensor(empty: resized.shape)
        let plane = s * s
        let src = resized.f32, dst = out.f32
        parallelFor(image.dim(0) * 3) { j in
            let m = Self.mean[j % 3], d = Self.std[j % 3]
            let a = src + j * plane, b = dst + j * plane
            for i in 0..<plane { b[i] = ((a[i] + 1) / 2 - m) / d }
        }
        return out
    }

    /// Images in [−1, 1] → all tokens of the last block (the pipeline's image conditioning).
    public func encode(images: Tensor) throws -> Tensor { try self(preprocess(images)) }
}
