import TCCore

/// SKETCH frames (DESIGN.md §3): (T, H, W, 1) float32, WHITE lines on BLACK in [0,1] — what the
/// sketch encoder takes as its hint — with a per-frame `present` flag. An absent frame is all zero:
/// the reference feeds a blank white drawing for an unsketched frame, which inverts to zeros
/// (sketch-and-colorize.md §1.5), and still runs the encoder on it.
public struct SketchFrames {
    public let frames: Tensor
    public let present: [Bool]

    /// `present` defaults to every frame.
    public init(frames: Tensor, present: [Bool]? = nil) throws {
        guard frames.rank == 4, frames.dim(3) == 1, frames.shape.allSatisfy({ $0 > 0 }) else {
            throw SketchError.invalidInput(what: "SKETCH frames", expected: "(T, H, W, 1)", got: "\(frames.shape)")
        }
        let mask = present ?? Array(repeating: true, count: frames.dim(0))
        guard mask.count == frames.dim(0) else {
            throw SketchError.invalidInput(what: "SKETCH present mask", expected: "\(frames.dim(0)) flags",
                                           got: "\(mask.count)")
        }
        self.frames = frames.float32()
        self.present = mask
    }

    public var count: Int { frames.dim(0) }
    public var height: Int { frames.dim(1) }
    public var width: Int { frames.dim(2) }

    /// Drawings (IMAGE frames) as hints: BT.601 grey, turned white-on-black according to `polarity`
    /// (`auto` decides per frame; the decisions are returned), clamped to [0,1] — the reference's
    /// `255 − gray, /255` for black-on-white input. Transparent pixels show the paper: white for
    /// `black_on_white` and `auto`, black for `white_on_black`.
    public static func fromDrawings(_ images: Tensor, polarity: LinePolarity) throws
        -> (sketches: SketchFrames, polarities: [LinePolarity]) {
        let (t, h, w, _) = try ImageFrames.validate(images, "drawings")
        let grey = ImageFrames.luminance(images, paper: polarity == .whiteOnBlack ? 0 : 1)
        let hw = h * w
        let g = grey.f32
        let used = (0..<t).map { f in polarity == .auto ? LinePolarity.detect(g + f * hw, count: hw) : polarity }
        let out = Tensor(empty: [t, h, w, 1])
        let o = out.f32
        parallelFor(t) { f in
            let invert = used[f] == .blackOnWhite
            let src = g + f * hw, dst = o + f * hw
            for i in 0..<hw { dst[i] = min(max(invert ? 1 - src[i] : src[i], 0), 1) }
        }
        return (try SketchFrames(frames: out), used)
    }

    /// Anime2Sketch output (N, 1, H, W), tanh with +1 white paper and −1 a black line, as hints
    /// (1 − y)/2 (fixture (k) note).
    public static func fromAnime2Sketch(_ y: Tensor) throws -> SketchFrames {
        guard y.rank == 4, y.dim(1) == 1 else {
            throw SketchError.invalidInput(what: "Anime2Sketch output", expected: "(N, 1, H, W)", got: "\(y.shape)")
        }
        let hint = y.map { min(max((1 - $0) / 2, 0), 1) }
        return try SketchFrames(frames: hint.reshaped([y.dim(0), y.dim(2), y.dim(3), 1]))
    }

    /// `frameCount` frames of `height`×`width` with a sketch only at the given indices; each sketch
    /// is (H, W, 1) or (1, H, W, 1). Every other frame is absent (zero).
    public static func sparse(_ sketches: [Int: Tensor], frameCount: Int, height: Int, width: Int) throws -> SketchFrames {
        guard frameCount > 0, height > 0, width > 0 else {
            throw SketchError.invalidInput(what: "sparse sketch size", expected: "positive frame count, height and width",
                                           got: "\(frameCount) frames of \(height)×\(width)")
        }
        let out = Tensor(zeros: [frameCount, height, width, 1])
        var present = Array(repeating: false, count: frameCount)
        let hw = height * width
        for (index, sketch) in sketches.sorted(by: { $0.key < $1.key }) {
            guard index >= 0 && index < frameCount else {
                throw SketchError.invalidInput(what: "sketch frame index", expected: "0…\(frameCount - 1)", got: "\(index)")
            }
            guard sketch.shape == [height, width, 1] || sketch.shape == [1, height, width, 1] else {
                throw SketchError.invalidInput(what: "sketch for frame \(index)", expected: "(\(height), \(width), 1)",
                                               got: "\(sketch.shape)")
            }
            (out.f32 + index * hw).update(from: sketch.float32().f32, count: hw)
            present[index] = true
        }
        return try SketchFrames(frames: out, present: present)
    }

    /// Only the frames at `indices` keep their sketch; the others become absent zero hints.
    public func keeping(_ indices: [Int]) throws -> SketchFrames {
        if let bad = indices.first(where: { $0 < 0 || $0 >= count }) {
            throw SketchError.invalidInput(what: "sketch frame index", expected: "0…\(count - 1)", got: "\(bad)")
        }
        let keep = Set(indices)
        let out = Tensor(zeros: frames.shape)
        let hw = height * width
        for f in keep.sorted() { (out.f32 + f * hw).update(from: frames.f32 + f * hw, count: hw) }
        return try SketchFrames(frames: out, present: (0..<count).map { keep.contains($0) && present[$0] })
    }
}
