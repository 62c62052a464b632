import TCCore

extension SketchFrames {
    /// The sketches brought to the model's frame size by the keyframes' transform (spec §1.2;
    /// the sketch-guidance script's `Resize(H) + CenterCrop(H, W)` on the hint tensors,
    /// sketch-and-colorize.md §1.5): the short side is resized to min(height, width) (PIL's
    /// antialiased bilinear filter on the float values; the long side int(min · long / short), as
    /// torchvision computes it), then centre-cropped to height × width (offsets rounded half to
    /// even), sides that come out too short padded with zero = no line. So a sketch drawn over a
    /// keyframe stays aligned with it. The `present` flags are kept.
    public func fitted(height: Int, width: Int) throws -> SketchFrames {
        guard height > 0, width > 0 else {
            throw SketchError.invalidInput(what: "sketch target size", expected: "positive height and width", got: "\(height)×\(width)")
        }
        if self.height == height && self.width == width { return self }
        let s = min(height, width), h0 = self.height, w0 = self.width
        let (rh, rw) = h0 <= w0 ? (s, Int(Double(s) * Double(w0) / Double(h0))) : (Int(Double(s) * Double(h0) / Double(w0)), s)
        guard rh > 0, rw > 0 else {
            throw SketchError.invalidInput(what: "sketch size", expected: "an image that can be fitted to \(width)×\(height)",
                                           got: "\(w0)×\(h0)")
        }
        let resized = (rh, rw) == (h0, w0) ? frames : pilResize(frames, width: rw, height: rh, filter: .bilinear)
        return try SketchFrames(frames: centreCrop(resized, height: height, width: width), present: present)
    }
}

/// torchvision `CenterCrop((H, W))` of (T, h, w, 1) frames: a larger side is cropped from
/// round((h − H)/2) (half to even), a smaller one is zero-padded (H − h)//2 before.
func centreCrop(_ x: Tensor, height: Int, width: Int) -> Tensor {
    let t = x.dim(0), h = x.dim(1), w = x.dim(2)
    if h == height && w == width { return x }
    func offset(_ size: Int, _ crop: Int) -> Int {
        size < crop ? -((crop - size) / 2) : Int((Double(size - crop) / 2).rounded(.toNearestOrEven))
    }
    let top = offset(h, height), left = offset(w, width)
    let src = x.float32()
    let out = Tensor(zeros: [t, height, width, 1])
    for f in 0..<t {
        for y in 0..<height where y + top >= 0 && y + top < h {
            let x0 = max(0, -left), x1 = min(width, w - left)
            guard x1 > x0 else { continue }
            (out.f32 + (f * height + y) * width + x0).update(from: src.f32 + (f * h + y + top) * w + x0 + left, count: x1 - x0)
        }
    }
    return out
}
