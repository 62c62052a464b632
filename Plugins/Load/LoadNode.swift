import Foundation
import TCCore
import TCImageIO
import TCPluginKit

/// Load: PNG / OpenEXR files or numbered sequences → IMAGE frames [T, H, W, 3|4].
enum LoadNode {
    static let definition = NodeDefinition(
        type: "Load",
        doc: """
            Read a PNG or OpenEXR image, or a numbered sequence of them, as IMAGE frames.
            `path` is a file, or a pattern with a frame placeholder (`name.####.png`, `name.%04d.exr`); a \
            sequence reads every matching file on disk, or `first`…`last` (each must exist).
            Formats: PNG 8/16-bit gray, gray+alpha, RGB, RGBA, palette (libpng); OpenEXR half/float \
            scanline R,G,B[,A] or Y[,A]. Gray becomes RGB. All frames must share size and channels.
            Colour: values stay as stored — PNG is recorded as colorspace=srgb (0…1 sRGB-encoded), EXR as \
            colorspace=linear (scene-linear, may exceed 1). Write converts when it needs to.
            Alpha: PNG alpha is straight (unassociated), EXR alpha premultiplied (the EXR convention). \
            `alpha: drop` (default) keeps the colour channels as stored; `keep` outputs RGBA (metadata \
            alpha=straight|premultiplied); `over` composites over the grey level `background` \
            (PNG: c·a + bg·(1−a); EXR: c + bg·(1−a)).
            Size: with `width`/`height` the frames are resampled with PIL's antialiased bilinear filter \
            (as the reference's keyframe preprocessing, in the stored values) and fitted: `crop` scales \
            to cover and centre-crops, `pad` scales to fit and centres on black (transparent when alpha \
            is kept, the background with `over`), `stretch` ignores the aspect ratio. One of the two at 0 \
            follows the aspect ratio; both 0 keeps the size. The model wants 512×320. Straight alpha is \
            premultiplied for resampling and divided out afterwards, so edges do not pick up colour.
            Metadata: colorspace, frames (comma-separated numbers), fps, source.
            """,
        outputs: [Port("image", .image, doc: "Frames [T, H, W, 3|4] float32.")],
        params: [
            .path("path", required: true, readsFiles: true, doc: "Image file or sequence pattern."),
            .int("first", doc: "First frame number of a sequence (default: the first on disk)."),
            .int("last", doc: "Last frame number of a sequence (default: the last on disk)."),
            .int("width", default: 0, min: 0, max: 16384, doc: "Output width (0: from height and aspect, or the source's)."),
            .int("height", default: 0, min: 0, max: 16384, doc: "Output height (0: from width and aspect, or the source's)."),
            .choice("fit", ["crop", "pad", "stretch"], default: "crop", doc: "How the source fits the output size."),
            .choice("alpha", ["drop", "keep", "over"], default: "drop", doc: "What to do with an alpha channel."),
            .float("background", default: 1, min: 0, max: 1, doc: "Grey level under transparent pixels with alpha: over."),
            .float("fps", default: 24, min: 0.1, max: 240, doc: "Frame rate recorded in the metadata."),
        ],
        run: run)

    static func run(_ ctx: NodeContext) throws {
        let path = try ctx.string("path")
        let sequence = FrameSequence(path)
        let frames = try frameNumbers(sequence, first: ctx.optionalInt("first"), last: ctx.optionalInt("last"))
        var decoded: [DecodedImage] = []
        for (i, frame) in frames.enumerated() {
            try ctx.checkCancelled()
            let file = sequence.path(frame ?? 0)
            let image = try ImageIO.read(file)
            if let first = decoded.first {
                guard image.format == first.format, image.width == first.width, image.height == first.height,
                      image.channels == first.channels else {
                    throw NodeError("\(file): \(image.width)×\(image.height), \(image.channels) channels, but \(sequence.path(frames[0] ?? 0)) is \(first.width)×\(first.height), \(first.channels) channels; all frames of a sequence must match")
                }
            }
            decoded.append(image)
            ctx.progress(i + 1, of: frames.count, (file as NSString).lastPathComponent)
        }
        let first = decoded[0]
        let premultiplied = first.format == .exr
        let alphaMode = try ctx.string("alpha")
        let hasAlpha = first.channels == 2 || first.channels == 4
        let keepAlpha = hasAlpha && alphaMode == "keep"
        let over = hasAlpha && alphaMode == "over"
        let background = Float(try ctx.float("background"))

        // [T, H, W, 3|4] with gray expanded and alpha dropped, kept or composited.
        let h = first.height, w = first.width, c = first.channels
        let outC = keepAlpha ? 4 : 3
        var images = Tensor(empty: [decoded.count, h, w, outC])
        for (t, image) in decoded.enumerated() {
            let src = image.pixels.f32, dst = images.f32 + t * h * w * outC
            for p in 0..<(h * w) {
                let s = src + p * c
                let a: Float = hasAlpha ? s[c - 1] : 1
                for k in 0..<3 {
                    var v = c <= 2 ? s[0] : s[k]
                    if over { v = premultiplied ? v + background * (1 - a) : v * a + background * (1 - a) }
                    dst[p * outC + k] = v
                }
                if keepAlpha { dst[p * outC + 3] = a }
            }
        }
        images = try fit(images, ctx: ctx, straightAlpha: keepAlpha && !premultiplied, padValue: over ? background : 0)

        var meta = [
            "colorspace": first.colorspace.rawValue,
            "frames": frames.map { "\($0 ?? 1)" }.joined(separator: ","),
            "fps": "\(try ctx.float("fps"))",
            "source": path,
        ]
        if keepAlpha { meta["alpha"] = premultiplied ? "premultiplied" : "straight" }
        try ctx.setOutput("image", TensorBundle([("images", images)], meta: meta))
    }

    /// The frames to read: nil for a single file.
    static func frameNumbers(_ sequence: FrameSequence, first: Int?, last: Int?) throws -> [Int?] {
        guard sequence.isSequence else {
            if first != nil || last != nil {
                throw NodeError("\(sequence.pattern): first/last apply to a numbered sequence (name.####.png), not a single file")
            }
            guard FileManager.default.fileExists(atPath: sequence.pattern) else {
                throw NodeError("\(sequence.pattern): no such file")
            }
            return [nil]
        }
        let onDisk = sequence.existingFrames()
        guard let lo = first ?? onDisk.first, let hi = last ?? onDisk.last else {
            throw NodeError("\(sequence.pattern): no files match this sequence pattern")
        }
        guard lo <= hi else { throw NodeError("\(sequence.pattern): first frame \(lo) is after last frame \(hi)") }
        let wanted = Array(lo...hi)
        let present = Set(onDisk)
        let missing = wanted.filter { !present.contains($0) }
        guard missing.isEmpty else {
            let shown = missing.prefix(5).map { sequence.path($0) }.joined(separator: ", ")
            throw NodeError("\(missing.count) frame\(missing.count == 1 ? "" : "s") of \(lo)–\(hi) missing: \(shown)\(missing.count > 5 ? ", …" : "")")
        }
        return wanted
    }

    /// Resamples and fits [T, H, W, C] frames to the requested size.
    static func fit(_ images: Tensor, ctx: NodeContext, straightAlpha: Bool, padValue: Float) throws -> Tensor {
        let h = images.shape[1], w = images.shape[2], c = images.shape[3]
        var tw = try ctx.int("width"), th = try ctx.int("height")
        if tw == 0 && th == 0 { return images }
        var mode = try ctx.string("fit")
        if tw == 0 { tw = max(1, Int((Double(w) * Double(th) / Double(h)).rounded())); mode = "stretch" }
        if th == 0 { th = max(1, Int((Double(h) * Double(tw) / Double(w)).rounded())); mode = "stretch" }
        let sx = Double(tw) / Double(w), sy = Double(th) / Double(h)
        let (rw, rh): (Int, Int)
        switch mode {
        case "crop":
            let s = max(sx, sy)
            (rw, rh) = (max(tw, Int((Double(w) * s).rounded())), max(th, Int((Double(h) * s).rounded())))
        case "pad":
            let s = min(sx, sy)
            (rw, rh) = (min(tw, max(1, Int((Double(w) * s).rounded()))), min(th, max(1, Int((Double(h) * s).rounded()))))
        default:
            (rw, rh) = (tw, th)
        }
        let resized = rw == w && rh == h ? images : resample(images, width: rw, height: rh, straightAlpha: straightAlpha)
        if rw == tw && rh == th { return resized }
        if mode == "crop" {
            let top = (rh - th) / 2, left = (rw - tw) / 2
            return resized.sliced(axis: 1, top..<(top + th)).sliced(axis: 2, left..<(left + tw)).contiguous()
        }
        let out = Tensor(repeating: padValue, [images.shape[0], th, tw, c])
        if c == 4 {
            for p in 0..<(out.count / 4) { out.f32[p * 4 + 3] = 0 }
        }
        let top = (th - rh) / 2, left = (tw - rw) / 2
        for t in 0..<images.shape[0] {
            for y in 0..<rh {
                (out.f32 + ((t * th + top + y) * tw + left) * c).update(from: resized.f32 + ((t * rh + y) * rw) * c, count: rw * c)
            }
        }
        return out
    }

    /// PIL's antialiased bilinear resize; straight alpha is premultiplied around it.
    static func resample(_ images: Tensor, width: Int, height: Int, straightAlpha: Bool) -> Tensor {
        guard straightAlpha else { return pilResize(images, width: width, height: height, filter: .bilinear) }
        let pre = images.copy()
        let n = pre.count / 4
        for p in 0..<n { for k in 0..<3 { pre.f32[p * 4 + k] *= pre.f32[p * 4 + 3] } }
        let out = pilResize(pre, width: width, height: height, filter: .bilinear)
        for p in 0..<(out.count / 4) {
            let a = out.f32[p * 4 + 3]
            for k in 0..<3 { out.f32[p * 4 + k] = a > 0 ? out.f32[p * 4 + k] / a : 0 }
        }
        return out
    }
}
