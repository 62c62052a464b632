import TCCore

extension Anime2Sketch {
    /// IMAGE frames (T, H, W, C) in [0,1] → SKETCH hints, one frame at a time (the activations of a
    /// 512×512 frame are about 0.3 GB at full width). Grey frames are used as RGB, alpha is composited
    /// over white. H and W must already be multiples of `config.sizeMultiple`: the network cannot
    /// take other sizes, and choosing how to resize (the test script squashes to a square, ControlNet
    /// rounds up) is the caller's decision.
    public func sketches(from images: Tensor) throws -> SketchFrames {
        let (t, h, w, _) = try ImageFrames.validate(images, "Anime2Sketch frames")
        let m = config.sizeMultiple
        guard config.inputChannels == 3 else {
            throw SketchError.invalidInput(what: "Anime2Sketch frames", expected: "an RGB generator", got: "\(config)")
        }
        guard h % m == 0, w % m == 0 else {
            throw SketchError.invalidInput(what: "Anime2Sketch frames",
                                           expected: "H and W multiples of \(m) (resize first)", got: "\(h)×\(w)")
        }
        let planes = ImageFrames.colourPlanes(images)                          // (t·k) h w
        let k = planes.dim(0) / t
        let hw = h * w
        let out = Tensor(empty: [t, 1, h, w])
        for f in 0..<t {
            let x = Tensor(empty: [1, 3, h, w])                                 // 1 3 h w in [−1,1]
            for c in 0..<3 {
                let src = planes.f32 + (f * k + min(c, k - 1)) * hw, dst = x.f32 + c * hw
                for i in 0..<hw { dst[i] = (src[i] - 0.5) / 0.5 }   // ToTensor + Normalize(0.5, 0.5)
            }
            let y = try self(x)                                                 // 1 1 h w
            (out.f32 + f * hw).update(from: y.f32, count: hw)
        }
        return try SketchFrames.fromAnime2Sketch(out)
    }
}

extension Anime2Sketch {
    /// IMAGE frames of any size → SKETCH hints of the same size, the way controlnet_aux's
    /// `lineart_anime` feeds the network (sketch-and-colorize.md §3.1): each side is resized UP to
    /// the next multiple of `config.sizeMultiple` (bicubic, values clamped to [0,1]), the network
    /// runs, and its hint is resized back to the input size (bicubic, clamped). Inputs that already
    /// fit go straight through.
    public func lineArt(from images: Tensor) throws -> SketchFrames {
        let (_, h, w, _) = try ImageFrames.validate(images, "Anime2Sketch frames")
        let m = config.sizeMultiple
        let hn = (h + m - 1) / m * m, wn = (w + m - 1) / m * m
        if hn == h && wn == w { return try sketches(from: images) }
        let up = pilResize(images.float32(), width: wn, height: hn, filter: .bicubic).map { min(max($0, 0), 1) }
        let s = try sketches(from: up)
        let back = pilResize(s.frames, width: w, height: h, filter: .bicubic).map { min(max($0, 0), 1) }
        return try SketchFrames(frames: back)
    }
}
