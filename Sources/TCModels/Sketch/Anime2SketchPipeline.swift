import TCCore

/// Anime2Sketch's test script (`test.py --model default`, no CLAHE; fixture (k) `pipeline.*`) on
/// one RGB image, stage by stage:
///
///     resized = PIL resize to load_size × load_size, BICUBIC (square: the aspect ratio is not kept)
///     x       = (resized/255 − 0.5)/0.5                       ToTensor + Normalize(0.5, 0.5)
///     sketch  = net(x)                                        tanh, dark lines on white
///     image   = uint8(((sketch + 1)/2)·255), tiled to RGB     float32, truncated (tensor_to_img)
///     saved   = PIL resize of `image` back to the input size, BICUBIC
public struct Anime2SketchPipeline {
    public let net: Anime2Sketch
    /// Side of the square the network sees (the script's default: 512, the training size).
    public let loadSize: Int

    public struct Output {
        /// (S, S, 3) uint8.
        public let resized: Tensor
        /// (1, 3, S, S) float32 in [−1, 1].
        public let x: Tensor
        /// (1, 1, S, S) float32 in (−1, 1).
        public let sketch: Tensor
        /// (S, S, 3) uint8.
        public let sketchImage: Tensor
        /// (H, W, 3) uint8, the size of the input.
        public let saved: Tensor
    }

    public init(_ net: Anime2Sketch, loadSize: Int = 512) throws {
        let m = net.config.sizeMultiple
        guard loadSize > 0, loadSize % m == 0 else {
            throw SketchError.invalidInput(what: "Anime2Sketch load size", expected: "a positive multiple of \(m)",
                                           got: "\(loadSize)")
        }
        guard net.config.inputChannels == 3 else {
            throw SketchError.invalidInput(what: "Anime2Sketch pipeline", expected: "an RGB generator", got: "\(net.config)")
        }
        self.net = net
        self.loadSize = loadSize
    }

    /// `image` (H, W, 3) uint8 RGB, as PIL's `convert('RGB')` gives it.
    public func callAsFunction(_ image: Tensor) throws -> Output {
        guard image.dtype == .u8, image.rank == 3, image.dim(2) == 3, image.dim(0) > 0, image.dim(1) > 0 else {
            throw SketchError.invalidInput(what: "Anime2Sketch pipeline image", expected: "(H, W, 3) uint8 RGB",
                                           got: "\(image.shape) \(image.dtype)")
        }
        let s = loadSize
        let resized = pilResize(image, width: s, height: s, filter: .bicubic)         // s s 3 u8
        let x = Anime2SketchPipeline.normalise(resized)                                // 1 3 s s
        let sketch = try net(x)                                                        // 1 1 s s
        let sketchImage = Anime2SketchPipeline.toImage(sketch)                         // s s 3 u8
        let saved = pilResize(sketchImage, width: image.dim(1), height: image.dim(0), filter: .bicubic)
        return Output(resized: resized, x: x, sketch: sketch, sketchImage: sketchImage, saved: saved)
    }

    /// (H, W, 3) uint8 → (1, 3, H, W) float32: v/255, then (· − 0.5)/0.5, in float32 as torchvision does.
    static func normalise(_ image: Tensor) -> Tensor {
        let h = image.dim(0), w = image.dim(1), hw = h * w
        let out = Tensor(empty: [1, 3, h, w])
        let src = image.contiguous().typedPointer(UInt8.self), dst = out.f32
        parallelFor(3) { c in
            for i in 0..<hw { dst[c * hw + i] = (Float(src[i * 3 + c]) / 255 - 0.5) / 0.5 }
        }
        return out
    }

    /// `tensor_to_img`: first sample, the channel tiled to RGB, ((y + 1)/2)·255 in float32, cast to
    /// uint8 (truncation toward zero).
    static func toImage(_ sketch: Tensor) -> Tensor {
        let h = sketch.dim(2), w = sketch.dim(3), hw = h * w
        let y = sketch.float32().f32
        let out = Tensor(empty: [h, w, 3], dtype: .u8)
        let d = out.typedPointer(UInt8.self)
        for i in 0..<hw {
            let v = UInt8(clamping: Int(((y[i] + 1) / 2 * 255).rounded(.towardZero)))
            d[i * 3] = v
            d[i * 3 + 1] = v
            d[i * 3 + 2] = v
        }
        return out
    }
}
