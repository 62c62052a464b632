import CTCImageCodecs
import Foundation
import TCCore

/// An image read from disk: float32 pixels [H, W, C] plus what the file said about them.
public struct DecodedImage {
    /// [H, W, C] float32, C = 1…4. PNG samples are scaled to 0…1 (by 255 or 65535); EXR values are
    /// as stored (linear light, may exceed 1).
    public let pixels: Tensor
    public let format: ImageFormat
    /// 8 or 16 for PNG; 16 (half) or 32 (float) for EXR.
    public let bitDepth: Int
    /// The transfer function of the values: sRGB-encoded for PNG, linear for EXR.
    public let colorspace: Colorspace

    public var width: Int { pixels.shape[1] }
    public var height: Int { pixels.shape[0] }
    public var channels: Int { pixels.shape[2] }
}

public enum ImageFormat: String, Sendable {
    case png, exr

    /// The format a path's extension names, or nil.
    public init?(path: String) {
        switch (path as NSString).pathExtension.lowercased() {
        case "png": self = .png
        case "exr": self = .exr
        default: return nil
        }
    }
}

public enum Colorspace: String, Sendable {
    case srgb, linear
}

/// EXR compression methods offered for writing.
public enum EXRCompression: String, Sendable, CaseIterable {
    case none, zip, piz, dwaa

    var code: Int32 {
        switch self {
        case .none: 0
        case .zip: 3
        case .piz: 4
        case .dwaa: 8
        }
    }
}

/// Why an image could not be read or written; always names the file.
public struct ImageIOError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let reason: String

    public init(file: String, _ reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

/// PNG and OpenEXR files ⇄ float32 tensors.
public enum ImageIO {
    public static func read(_ path: String) throws -> DecodedImage {
        guard let format = ImageFormat(path: path) else {
            throw ImageIOError(file: path, "unknown image format (expected .png or .exr)")
        }
        guard FileManager.default.fileExists(atPath: path) else { throw ImageIOError(file: path, "no such file") }
        var image = tc_image()
        var err = [CChar](repeating: 0, count: 512)
        let rc = format == .png ? tc_png_read(path, &image, &err, err.count) : tc_exr_read(path, &image, &err, err.count)
        guard rc == 0 else {
            let what = format == .png ? "corrupt or unsupported PNG" : "corrupt or unsupported EXR"
            throw ImageIOError(file: path, "\(what): \(String(cString: err))")
        }
        defer { tc_image_free(&image) }
        let h = Int(image.height), w = Int(image.width), c = Int(image.channels)
        let out = Tensor(empty: [h, w, c])
        let n = h * w * c
        let dst = out.f32
        switch (format, image.bit_depth) {
        case (.png, 8):
            let src = image.pixels.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { dst[i] = Float(src[i]) / 255 }
        case (.png, _):
            let src = image.pixels.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { dst[i] = Float(src[i]) / 65535 }
        case (.exr, _):
            dst.update(from: image.pixels.assumingMemoryBound(to: Float.self), count: n)
        }
        return DecodedImage(pixels: out, format: format, bitDepth: Int(image.bit_depth),
                            colorspace: format == .png ? .srgb : .linear)
    }

    /// Writes [H, W, C] values in 0…1 (clamped, rounded to nearest) as an 8- or 16-bit PNG.
    public static func writePNG(_ pixels: Tensor, to path: String, bits: Int, text: [(String, String)] = []) throws {
        guard pixels.rank == 3, (1...4).contains(pixels.shape[2]) else {
            throw ImageIOError(file: path, "a PNG needs [H, W, C] pixels with C in 1…4, got \(pixels.shape)")
        }
        guard bits == 8 || bits == 16 else { throw ImageIOError(file: path, "PNG bit depth must be 8 or 16, got \(bits)") }
        let src = pixels.float32()
        let n = src.count
        let scale: Float = bits == 8 ? 255 : 65535
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: n * bits / 8, alignment: 16)
        defer { buffer.deallocate() }
        let s = src.f32
        if bits == 8 {
            let d = buffer.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { d[i] = UInt8((min(max(s[i].isNaN ? 0 : s[i], 0), 1) * scale).rounded()) }
        } else {
            let d = buffer.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { d[i] = UInt16((min(max(s[i].isNaN ? 0 : s[i], 0), 1) * scale).rounded()) }
        }
        var image = tc_image(width: Int32(pixels.shape[1]), height: Int32(pixels.shape[0]), channels: Int32(pixels.shape[2]),
                             bit_depth: Int32(bits), pixels: buffer)
        try withCStrings(text) { keys, values in
            var err = [CChar](repeating: 0, count: 512)
            guard tc_png_write(path, &image, keys, values, Int32(text.count), &err, err.count) == 0 else {
                throw ImageIOError(file: path, "cannot write PNG: \(String(cString: err))")
            }
        }
    }

    /// Writes [H, W, 3|4] float values as an OpenEXR (channels R,G,B[,A]), half or float.
    public static func writeEXR(_ pixels: Tensor, to path: String, half: Bool, compression: EXRCompression,
                                attributes: [(String, String)] = []) throws {
        guard pixels.rank == 3, [3, 4].contains(pixels.shape[2]) else {
            throw ImageIOError(file: path, "an EXR needs [H, W, 3|4] pixels, got \(pixels.shape)")
        }
        let src = pixels.float32()
        try withCStrings(attributes) { keys, values in
            var err = [CChar](repeating: 0, count: 512)
            guard tc_exr_write(path, src.f32, Int32(pixels.shape[1]), Int32(pixels.shape[0]), Int32(pixels.shape[2]),
                               half ? 1 : 0, Int32(compression.code), keys, values, Int32(attributes.count), &err, err.count) == 0 else {
                throw ImageIOError(file: path, "cannot write EXR: \(String(cString: err))")
            }
        }
    }

    /// A PNG tEXt value by key.
    public static func pngText(_ path: String, key: String) -> String? {
        var out = [CChar](repeating: 0, count: 4096)
        return tc_png_text(path, key, &out, out.count) == 0 ? String(cString: out) : nil
    }

    /// An EXR string attribute of part 0 by name.
    public static func exrAttribute(_ path: String, name: String) -> String? {
        var out = [CChar](repeating: 0, count: 4096)
        return tc_exr_string_attr(path, name, &out, out.count) == 0 ? String(cString: out) : nil
    }

    private static func withCStrings(_ pairs: [(String, String)],
                                     _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?) throws -> Void) throws {
        let keys = pairs.map { UnsafePointer(strdup($0.0)) }
        let values = pairs.map { UnsafePointer(strdup($0.1)) }
        defer {
            keys.forEach { free(UnsafeMutablePointer(mutating: $0)) }
            values.forEach { free(UnsafeMutablePointer(mutating: $0)) }
        }
        try keys.withUnsafeBufferPointer { k in
            try values.withUnsafeBufferPointer { v in try body(k.baseAddress, v.baseAddress) }
        }
    }
}
