import Foundation
import TCCore
import TCImageIO
import XCTest

/// PNG/EXR round trips compare pixel values; bad files give errors naming them.
final class ImageIOTests: XCTestCase {
    /// Deterministic [H, W, C] values k/levels.
    func ramp(_ h: Int, _ w: Int, _ c: Int, levels: Int) -> Tensor {
        Tensor((0..<(h * w * c)).map { Float(($0 * 7919) % (levels + 1)) / Float(levels) }, [h, w, c])
    }

    func testPNG8BitAllChannelCountsRoundTripExactly() throws {
        let dir = Fixture.tempDir("png8")
        for c in 1...4 {
            let img = ramp(5, 7, c, levels: 255)
            try ImageIO.writePNG(img, to: "\(dir)/c\(c).png", bits: 8)
            let back = try ImageIO.read("\(dir)/c\(c).png")
            XCTAssertEqual(back.pixels.shape, [5, 7, c])
            XCTAssertEqual(back.bitDepth, 8)
            XCTAssertEqual(back.colorspace, .srgb)
            XCTAssertEqual(back.pixels.toArray(), img.toArray(), "\(c) channels")
        }
    }

    func testPNG16BitRoundTripsExactly() throws {
        let dir = Fixture.tempDir("png16")
        for c in [1, 3, 4] {
            let img = ramp(4, 9, c, levels: 65535)
            try ImageIO.writePNG(img, to: "\(dir)/c\(c).png", bits: 16, text: [("tcgraph:seed", "7")])
            let back = try ImageIO.read("\(dir)/c\(c).png")
            XCTAssertEqual(back.bitDepth, 16)
            XCTAssertEqual(back.pixels.toArray(), img.toArray())
            XCTAssertEqual(ImageIO.pngText("\(dir)/c\(c).png", key: "tcgraph:seed"), "7")
        }
    }

    func testPNGQuantizesWithRoundingAndClamping() throws {
        let path = Fixture.tempDir("q") + "/q.png"
        try ImageIO.writePNG(Tensor([-0.5, 0.5 / 255, 1.4 / 255, 2.0], [1, 4, 1]), to: path, bits: 8)
        XCTAssertEqual(try ImageIO.read(path).pixels.toArray().map { Int(($0 * 255).rounded()) }, [0, 1, 1, 255])
    }

    func testEXRHalfRoundTripsRepresentableValuesExactly() throws {
        let dir = Fixture.tempDir("exrh")
        for c in [3, 4] {
            let values: [Float] = (0..<(6 * 5 * c)).map { i in [0, 0.25, 1, 1000, -0.5, 0.0009765625, 3.5][i % 7] }
            let img = Tensor(values, [6, 5, c])
            for compression in [EXRCompression.none, .zip, .piz] {
                let path = "\(dir)/c\(c)-\(compression).exr"
                try ImageIO.writeEXR(img, to: path, half: true, compression: compression, attributes: [("tcgraph:seed", "123")])
                let back = try ImageIO.read(path)
                XCTAssertEqual(back.bitDepth, 16)
                XCTAssertEqual(back.colorspace, .linear)
                XCTAssertEqual(back.pixels.shape, [6, 5, c])
                XCTAssertEqual(back.pixels.toArray(), values, "\(c) channels, \(compression)")
                XCTAssertEqual(ImageIO.exrAttribute(path, name: "tcgraph:seed"), "123")
            }
        }
    }

    func testEXRFloatRoundTripsExactly() throws {
        let dir = Fixture.tempDir("exrf")
        var rng = SystemRandomNumberGenerator()
        for c in [3, 4] {
            let values = (0..<(33 * 17 * c)).map { _ in Float.random(in: -4...40, using: &rng) }
            let img = Tensor(values, [33, 17, c])
            for compression in [EXRCompression.none, .zip, .piz] {
                let path = "\(dir)/c\(c)-\(compression).exr"
                try ImageIO.writeEXR(img, to: path, half: false, compression: compression)
                let back = try ImageIO.read(path)
                XCTAssertEqual(back.bitDepth, 32)
                XCTAssertTrue(back.pixels.toArray() == values, "\(c) channels, \(compression): values differ")
            }
        }
    }

    func testEXRDWAAIsCloseOnSmoothImages() throws {
        let h = 32, w = 48
        for c in [3, 4] {
            var values: [Float] = []
            for y in 0..<h { for x in 0..<w { values += [Float(x) / Float(w), Float(y) / Float(h), 0.5, 1][..<c] } }
            for half in [true, false] {
                let path = Fixture.tempDir("dwaa") + "/d.exr"
                try ImageIO.writeEXR(Tensor(values, [h, w, c]), to: path, half: half, compression: .dwaa,
                                     attributes: [("tcgraph:graph", "g")])
                let back = try ImageIO.read(path)
                XCTAssertEqual(back.pixels.shape, [h, w, c])
                XCTAssertEqual(back.bitDepth, half ? 16 : 32)
                let err = zip(back.pixels.toArray(), values).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(err, 0.01, "DWAA is lossy but close (\(c) channels, half \(half))")
                XCTAssertEqual(ImageIO.exrAttribute(path, name: "tcgraph:graph"), "g")
            }
        }
    }

    func testSRGBTransfer() {
        XCTAssertEqual(ColorTransfer.srgbToLinear(0), 0)
        XCTAssertEqual(ColorTransfer.srgbToLinear(1), 1, accuracy: 1e-6)
        XCTAssertEqual(ColorTransfer.srgbToLinear(0.5), 0.2140411, accuracy: 1e-6)
        XCTAssertEqual(ColorTransfer.srgbToLinear(0.04045), 0.04045 / 12.92, accuracy: 1e-9)
        XCTAssertEqual(ColorTransfer.linearToSrgb(0.2140411), 0.5, accuracy: 1e-6)
        XCTAssertEqual(ColorTransfer.linearToSrgb(0.0031308), 0.04045, accuracy: 1e-6)
        var worst: Float = 0
        for i in 0...1000 {
            let v = Float(i) / 1000
            worst = max(worst, abs(ColorTransfer.linearToSrgb(ColorTransfer.srgbToLinear(v)) - v))
        }
        XCTAssertLessThan(worst, 1e-6)
        let rgba = ColorTransfer.convert(Tensor([0.5, 0.5, 0.5, 0.5], [1, 1, 4]), toLinear: true).toArray()
        XCTAssertEqual(rgba[0], 0.2140411, accuracy: 1e-6)
        XCTAssertEqual(rgba[3], 0.5, "alpha is not a colour")
    }

    func testSequencePatterns() throws {
        XCTAssertEqual(FrameSequence("a/b.####.png").path(7), "a/b.0007.png")
        XCTAssertEqual(FrameSequence("a/b.%04d.exr").path(12), "a/b.0012.exr")
        XCTAssertEqual(FrameSequence("b_%d.png").path(12), "b_12.png")
        XCTAssertEqual(FrameSequence("b.##.png").path(123), "b.123.png")
        XCTAssertFalse(FrameSequence("dir.##/b.png").isSequence, "placeholders count only in the file name")
        XCTAssertEqual(FrameSequence("x.png").path(3), "x.png")
        let dir = Fixture.tempDir("seq")
        for name in ["s.0003.png", "s.0001.png", "s.01.png", "s.0002.exr", "t.0004.png", "s.0010.png"] { Fixture.write("", to: "\(dir)/\(name)") }
        XCTAssertEqual(FrameSequence("\(dir)/s.####.png").existingFrames(), [1, 3, 10])
    }

    func testBadFilesGiveErrorsNamingThem() throws {
        let dir = Fixture.tempDir("bad")
        let good = "\(dir)/good.png"
        try ImageIO.writePNG(ramp(40, 40, 3, levels: 255), to: good, bits: 8)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: "\(dir)/truncated.png"))
        var corrupt = bytes
        for i in 40..<min(80, corrupt.count) { corrupt[i] ^= 0x5A }
        try corrupt.write(to: URL(fileURLWithPath: "\(dir)/corrupt.png"))
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: "\(dir)/text.png"))
        let exr = "\(dir)/good.exr"
        try ImageIO.writeEXR(ramp(40, 40, 3, levels: 255), to: exr, half: true, compression: .zip)
        let exrBytes = try Data(contentsOf: URL(fileURLWithPath: exr))
        try exrBytes.prefix(exrBytes.count * 2 / 3).write(to: URL(fileURLWithPath: "\(dir)/truncated.exr"))
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: "\(dir)/text.exr"))

        func expect(_ name: String, _ reason: String) {
            XCTAssertThrowsError(try ImageIO.read("\(dir)/\(name)")) { e in
                let err = e as? ImageIOError
                XCTAssertEqual(err?.file, "\(dir)/\(name)")
                XCTAssertTrue(err?.reason.hasPrefix(reason) ?? false, "\(name): \(e)")
            }
        }
        expect("truncated.png", "corrupt or unsupported PNG: ")
        expect("corrupt.png", "corrupt or unsupported PNG: ")
        expect("text.png", "corrupt or unsupported PNG: not a PNG file (bad signature)")
        expect("truncated.exr", "corrupt or unsupported EXR: ")
        expect("text.exr", "corrupt or unsupported EXR: ")
        expect("missing.png", "no such file")
        expect("image.tiff", "unknown image format (expected .png or .exr)")
    }

    func testUnwritableDestination() throws {
        let dir = Fixture.tempDir("unwritable")
        Fixture.write("a file, not a folder", to: "\(dir)/file")
        XCTAssertThrowsError(try ImageIO.writePNG(ramp(2, 2, 3, levels: 255), to: "\(dir)/file/x.png", bits: 8)) { e in
            XCTAssertEqual("\(e)", "\(dir)/file/x.png: cannot write PNG: cannot create: Not a directory")
        }
        XCTAssertThrowsError(try ImageIO.writeEXR(ramp(2, 2, 3, levels: 255), to: "\(dir)/file/x.exr", half: true, compression: .zip))
        XCTAssertEqual(Fixture.files(dir), ["file"])
    }

    func testGIFDecodesToThePaletteColours() throws {
        // Two frames of four flat colours, large enough to pass 4096 LZW codes (clear codes).
        let h = 96, w = 160, colours: [[Float]] = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]
        var values: [Float] = []
        for f in 0..<2 { for y in 0..<h { for x in 0..<w { values += colours[(x / 3 + y / 5 + f + (x * y) % 7) % 4] } } }
        let data = try GIFEncoder.encode(Tensor(values, [2, h, w, 3]), delayCentiseconds: 10)
        let frames = try GIFDecoder.decode(data)
        XCTAssertEqual(frames.count, 2)
        for f in 0..<2 {
            XCTAssertEqual(frames[f].count, h * w * 3)
            let expected = values[(f * h * w * 3)..<((f + 1) * h * w * 3)].map { UInt8($0 * 255) }
            XCTAssertEqual(frames[f], expected)
        }
    }
}

/// A minimal GIF reader (global palette, LZW) to check the encoder independently.
enum GIFDecoder {
    struct Bad: Error {}

    static func decode(_ d: Data) throws -> [[UInt8]] {
        let b = [UInt8](d)
        guard String(decoding: b[0..<6], as: UTF8.self) == "GIF89a" else { throw Bad() }
        let w = Int(b[6]) | Int(b[7]) << 8, h = Int(b[8]) | Int(b[9]) << 8
        guard b[10] & 0x80 != 0 else { throw Bad() }
        let paletteSize = 3 << (Int(b[10] & 7) + 1)
        let palette = Array(b[13..<(13 + paletteSize)])
        var i = 13 + paletteSize
        var frames: [[UInt8]] = []
        while i < b.count {
            switch b[i] {
            case 0x21:
                i += 2
                while b[i] != 0 { i += Int(b[i]) + 1 }
                i += 1
            case 0x2C:
                i += 10
                let minSize = Int(b[i]); i += 1
                var data: [UInt8] = []
                while b[i] != 0 { data += b[(i + 1)...(i + Int(b[i]))]; i += Int(b[i]) + 1 }
                i += 1
                let indices = lzw(data, minSize: minSize)
                guard indices.count >= w * h else { throw Bad() }
                frames.append(indices.prefix(w * h).flatMap { palette[Int($0) * 3..<(Int($0) * 3 + 3)] })
            case 0x3B:
                return frames
            default:
                throw Bad()
            }
        }
        throw Bad()
    }

    static func lzw(_ data: [UInt8], minSize: Int) -> [UInt8] {
        let clear = 1 << minSize, end = clear + 1
        var table: [[UInt8]] = []
        var size = minSize + 1
        func reset() { table = (0..<clear).map { [UInt8($0)] } + [[], []]; size = minSize + 1 }
        reset()
        var out: [UInt8] = [], prev: [UInt8]? = nil
        var bit = 0
        while bit + size <= data.count * 8 {
            var code = 0
            for k in 0..<size where data[(bit + k) / 8] & (1 << ((bit + k) % 8)) != 0 { code |= 1 << k }
            bit += size
            if code == clear { reset(); prev = nil; continue }
            if code == end { break }
            let entry: [UInt8]
            if code < table.count { entry = table[code] } else if let p = prev { entry = p + [p[0]] } else { break }
            out += entry
            if let p = prev, table.count < 4096 { table.append(p + [entry[0]]) }
            prev = entry
            if table.count == (1 << size) && size < 12 { size += 1 }
        }
        return out
    }
}
