import Foundation
import TCCore
import TCImageIO
import TCPluginKit

/// Write: IMAGE frames → PNG or OpenEXR files (+ an optional GIF/MP4 preview), atomically.
enum WriteNode {
    static let definition = NodeDefinition(
        type: "Write",
        doc: """
            Write frames as a PNG or OpenEXR sequence, with an optional animated preview.
            The format follows the extension of `path` (.png or .exr). A sequence needs a frame placeholder: \
            `####` (padding = number of #) or `%04d`; a single frame may go to a plain file name.
            Colour: EXR files hold linear light and PNG files sRGB-encoded values. With `convert: true` \
            (default) the frames are converted from their `colorspace` metadata to the file's convention \
            (sRGB → linear with the exact IEC 61966-2-1 curve for EXR, linear → sRGB for PNG); with false \
            the values are written as they are. Alpha follows each format's convention: premultiplied in \
            EXR, straight in PNG; the input's `alpha` metadata (straight|premultiplied; without it, \
            straight for sRGB frames and premultiplied for linear ones) says what arrives, and colour is \
            converted on un-premultiplied values. `convert: false` leaves alpha as it comes too.
            Safety: every file is written under a temporary name and renamed only when all frames (and the \
            preview) are written, so a failure or Ctrl-C leaves no partial output. An existing sequence \
            with a different set of frame numbers is refused unless `overwrite: true` (which then removes \
            the old frames that the new sequence does not replace). Re-running with the same frames \
            replaces them.
            Metadata: EXR string attributes and PNG tEXt chunks tcgraph:graph, tcgraph:version, \
            tcgraph:frame, and tcgraph:seed when the frames carry a seed.
            """,
        sideEffects: true,
        inputs: [Port("images", .image, doc: "Frames to write.")],
        params: [
            .path("path", required: true, doc: "Output file or sequence pattern, e.g. out/shot.####.exr."),
            .int("start", min: -999_999, max: 999_999, doc: "Frame number of the first frame (default: the input's first frame number, else 1)."),
            .choice("bits", ["8", "16"], default: "8", doc: "PNG bits per sample."),
            .choice("pixel", ["half", "float"], default: "half", doc: "EXR channel type."),
            .choice("compression", EXRCompression.allCases.map(\.rawValue), default: "zip", doc: "EXR compression."),
            .bool("convert", default: true, doc: "Convert to the file's colour convention (EXR linear, PNG sRGB)."),
            .path("preview", doc: "Optional animated preview: a .gif (built in) or .mp4 (needs ffmpeg on PATH)."),
            .float("fps", min: 0.1, max: 240, doc: "Preview frame rate (default: the input's fps metadata, else 8)."),
            .bool("overwrite", default: false, doc: "Replace an existing sequence that has other frame numbers."),
        ],
        run: run)

    static func run(_ ctx: NodeContext) throws {
        let input = try ctx.requiredInput("images")
        let images = try input.require("images", port: "images")
        let path = try ctx.string("path")
        let count = images.shape[0]
        guard let format = ImageFormat(path: path) else {
            throw NodeError("\(path): unknown output format (use a .png or .exr extension)")
        }
        let sequence = FrameSequence(path)
        guard sequence.isSequence || count == 1 else {
            throw NodeError("\(path): \(count) frames need a frame placeholder in the file name (e.g. name.####.\(format.rawValue))")
        }
        let inputFrames = input.meta["frames"]?.split(separator: ",").compactMap { Int($0) }
        let start = try ctx.optionalInt("start") ?? inputFrames?.first ?? 1
        let frames = Array(start..<(start + count))
        let colorspace = Colorspace(rawValue: input.meta["colorspace"] ?? "") ?? .srgb
        let preview = try ctx.optionalString("preview")
        let fps = try ctx.optionalFloat("fps") ?? input.meta["fps"].flatMap(Double.init) ?? 8

        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw NodeError("cannot create the output folder \(folder): \(underlying(error))")
            }
        }
        let existing = sequence.existingFrames()
        let overwrite = try ctx.bool("overwrite")
        if !existing.isEmpty && Set(existing) != Set(frames) && !overwrite {
            throw NodeError("\(path) already holds \(describe(existing)); this run writes \(describe(frames)). Refusing to mix two sequences: remove the old frames, choose another path, or set overwrite: true")
        }

        let files = AtomicFiles()
        do {
            var attributes = [("tcgraph:version", ctx.runInfo("version") ?? "?"), ("tcgraph:graph", ctx.runInfo("graph") ?? "?")]
            if let seed = input.meta["seed"] { attributes.append(("tcgraph:seed", seed)) }
            let converted = try ctx.bool("convert") ? prepare(images, meta: input.meta, for: format) : images.float32()
            for (i, frame) in frames.enumerated() {
                try ctx.checkCancelled()
                let target = sequence.path(frame)
                let tmp = files.temporary(for: target)
                let pixels = converted[i]
                let attrs = attributes + [("tcgraph:frame", "\(frame)")]
                switch format {
                case .png:
                    try ImageIO.writePNG(pixels, to: tmp, bits: Int(ctx.string("bits"))!, text: attrs)
                case .exr:
                    try ImageIO.writeEXR(pixels, to: tmp, half: ctx.string("pixel") == "half",
                                         compression: EXRCompression(rawValue: try ctx.string("compression"))!, attributes: attrs)
                }
                ctx.progress(i + 1, of: count + (preview == nil ? 0 : 1), "frame \(frame)")
            }
            if let preview {
                try ctx.checkCancelled()
                let display = colorspace == .linear ? ColorTransfer.convert(images, toLinear: false) : images
                try Preview.write(display, to: files.temporary(for: preview), kind: preview, fps: fps)
                ctx.progress(count + 1, of: count + 1, "preview")
            }
            try ctx.checkCancelled()
            try files.commit()
        } catch {
            files.discard()
            throw error
        }
        if overwrite {
            for old in Set(existing).subtracting(frames) { try? FileManager.default.removeItem(atPath: sequence.path(old)) }
        }
        ctx.log("wrote \(describe(frames)) to \(path)\(preview.map { " and \($0)" } ?? "")")
    }

    /// Frames as the file format expects them, [T, H, W, C] float32: the file's transfer function
    /// (EXR linear, PNG sRGB) and alpha convention (EXR premultiplied, PNG straight).
    static func prepare(_ images: Tensor, meta: [String: String], for format: ImageFormat) -> Tensor {
        let colorspace = Colorspace(rawValue: meta["colorspace"] ?? "") ?? .srgb
        let alpha = images.shape[3] == 4
        let premultiplied = meta["alpha"].map { $0 == "premultiplied" } ?? (colorspace == .linear)
        var x = alpha && premultiplied ? scaleByAlpha(images, inverse: true) : images.float32()
        switch (format, colorspace) {
        case (.exr, .srgb): x = ColorTransfer.convert(x, toLinear: true)
        case (.png, .linear): x = ColorTransfer.convert(x, toLinear: false)
        default: break
        }
        return alpha && format == .exr ? scaleByAlpha(x, inverse: false) : x
    }

    /// A copy of RGBA frames with colour multiplied by alpha (or divided, 0 where alpha is 0).
    static func scaleByAlpha(_ images: Tensor, inverse: Bool) -> Tensor {
        let out = images.float32().copy()
        let p = out.f32
        for i in 0..<(out.count / 4) {
            let a = p[i * 4 + 3]
            let f: Float = inverse ? (a > 0 ? 1 / a : 0) : a
            for k in 0..<3 { p[i * 4 + k] *= f }
        }
        return out
    }

    static func describe(_ frames: [Int]) -> String {
        guard let lo = frames.min(), let hi = frames.max() else { return "no frames" }
        let contiguous = frames.count == hi - lo + 1
        return "\(frames.count) frame\(frames.count == 1 ? "" : "s") (\(contiguous ? (lo == hi ? "\(lo)" : "\(lo)–\(hi)") : frames.map(String.init).joined(separator: ",")))"
    }

    static func underlying(_ error: Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSUnderlyingErrorKey] as? NSError)?.localizedDescription ?? ns.localizedDescription
    }
}
