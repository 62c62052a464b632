import Foundation
import TCCore
import TCGraph
import TCImageIO
import XCTest

/// The Load node's formats, ranges, fits and alpha modes (run through the graph engine).
final class LoadWriteNodeTests: XCTestCase {
    func load(_ params: String, dir: String) throws -> PortValue {
        let g = try Fixture.graph("tcgraph: 1\nnodes:\n  l: { type: Load, \(params) }\n", registry: Fixture.registry())
        let report = try Executor(graph: g, options: .test()).run()
        return report.outputs["l"]![0]
    }

    /// [H, W, C] with value (y·W + x)·C + k scaled into 0…1 on a 255 grid.
    func pattern(_ h: Int, _ w: Int, _ c: Int) -> Tensor {
        Tensor((0..<(h * w * c)).map { Float($0 % 256) / 255 }, [h, w, c])
    }

    func testSequenceOf16BitGrayBecomesRGBWithMetadata() throws {
        let dir = Fixture.tempDir("load")
        let img = Tensor((0..<24).map { Float($0 * 2000) / 65535 }, [4, 6, 1])
        for f in 1...2 { try ImageIO.writePNG(img, to: "\(dir)/s.\(String(format: "%04d", f)).png", bits: 16) }
        let v = try load("path: \"\(dir)/s.%04d.png\", fps: 12", dir: dir)
        let images = try XCTUnwrap(v["images"])
        XCTAssertEqual(images.shape, [2, 4, 6, 3])
        let a = images.toArray()
        for p in 0..<24 { for k in 0..<3 { XCTAssertEqual(a[24 * 3 + p * 3 + k], img.f32[p]) } }
        XCTAssertEqual(v.meta, ["colorspace": "srgb", "frames": "1,2", "fps": "12.0", "source": "\(dir)/s.%04d.png"])
    }

    func testFrameRangeAndMissingFrames() throws {
        let dir = Fixture.tempDir("load")
        for f in 1...3 { try ImageIO.writePNG(Tensor(repeating: Float(f) / 255, [2, 2, 3]), to: "\(dir)/s.000\(f).png", bits: 8) }
        let v = try load("path: \"\(dir)/s.####.png\", first: 2, last: 3", dir: dir)
        XCTAssertEqual(v.meta["frames"], "2,3")
        XCTAssertEqual(v["images"]?.toArray().first, 2 / 255)
        XCTAssertThrowsError(try load("path: \"\(dir)/s.####.png\", first: 2, last: 5", dir: dir)) { e in
            XCTAssertEqual("\(e)", "node 'l' (Load) failed: 2 frames of 2–5 missing: \(dir)/s.0004.png, \(dir)/s.0005.png")
        }
        XCTAssertThrowsError(try load("path: \"\(dir)/s.0001.png\", first: 1", dir: dir)) { e in
            XCTAssertTrue("\(e)".contains("first/last apply to a numbered sequence"), "\(e)")
        }
        XCTAssertThrowsError(try load("path: \"\(dir)/t.####.png\"", dir: dir)) { e in
            XCTAssertTrue("\(e)".hasSuffix("t.####.png: no files match this sequence pattern"), "\(e)")
        }
    }

    func testFitCropPadStretch() throws {
        let dir = Fixture.tempDir("load")
        let src = pattern(4, 8, 3)
        try ImageIO.writePNG(src, to: "\(dir)/a.png", bits: 8)
        let s = src.toArray()
        func px(_ t: [Float], _ w: Int, _ y: Int, _ x: Int) -> [Float] { Array(t[((y * w + x) * 3)..<((y * w + x) * 3 + 3)]) }

        let crop = try XCTUnwrap(load("path: \"\(dir)/a.png\", width: 4, height: 4, fit: crop", dir: dir)["images"])
        XCTAssertEqual(crop.shape, [1, 4, 4, 3])
        for y in 0..<4 { for x in 0..<4 { XCTAssertEqual(px(crop.toArray(), 4, y, x), px(s, 8, y, x + 2)) } }

        let pad = try XCTUnwrap(load("path: \"\(dir)/a.png\", width: 8, height: 8, fit: pad", dir: dir)["images"])
        XCTAssertEqual(pad.shape, [1, 8, 8, 3])
        for x in 0..<8 {
            XCTAssertEqual(px(pad.toArray(), 8, 1, x), [0, 0, 0])
            XCTAssertEqual(px(pad.toArray(), 8, 2, x), px(s, 8, 0, x))
            XCTAssertEqual(px(pad.toArray(), 8, 6, x), [0, 0, 0])
        }

        let flat = Tensor(repeating: 0.5, [4, 8, 3])
        try ImageIO.writePNG(flat, to: "\(dir)/flat.png", bits: 8)
        let stretch = try XCTUnwrap(load("path: \"\(dir)/flat.png\", width: 3, height: 2, fit: stretch", dir: dir)["images"])
        XCTAssertEqual(stretch.shape, [1, 2, 3, 3])
        for v in stretch.toArray() { XCTAssertEqual(v, Float(128) / 255, accuracy: 1e-6) }
        XCTAssertEqual(try load("path: \"\(dir)/flat.png\", width: 4", dir: dir)["images"]?.shape, [1, 2, 4, 3], "height from the aspect ratio")
    }

    func testResizeMatchesPILBilinearOnAKnownCase() throws {
        // A 1×4 ramp halved by PIL's antialiased bilinear: support 2 source pixels around centres
        // 1 and 3, triangle weights (0.75, 0.75, 0.25) and (0.25, 0.75, 0.75), normalised by 1.75.
        let dir = Fixture.tempDir("load")
        let v: [Float] = [0, 51, 102, 153].map { $0 / 255 }
        try ImageIO.writePNG(Tensor(v.flatMap { [$0, $0, $0] }, [1, 4, 3]), to: "\(dir)/r.png", bits: 8)
        let out = try XCTUnwrap(load("path: \"\(dir)/r.png\", width: 2, height: 1, fit: stretch", dir: dir)["images"]).toArray()
        XCTAssertEqual(out[0], (0.75 * v[0] + 0.75 * v[1] + 0.25 * v[2]) / 1.75, accuracy: 1e-6)
        XCTAssertEqual(out[3], (0.25 * v[1] + 0.75 * v[2] + 0.75 * v[3]) / 1.75, accuracy: 1e-6)
    }

    func testAlphaModesPNGAndEXR() throws {
        let dir = Fixture.tempDir("load")
        let a: Float = 102 / 255, c: Float = 204 / 255
        try ImageIO.writePNG(Tensor([c, c, c, a], [1, 1, 4]), to: "\(dir)/p.png", bits: 8)
        XCTAssertEqual(try load("path: \"\(dir)/p.png\"", dir: dir)["images"]?.toArray(), [c, c, c])
        let kept = try load("path: \"\(dir)/p.png\", alpha: keep", dir: dir)
        XCTAssertEqual(kept["images"]?.toArray(), [c, c, c, a])
        XCTAssertEqual(kept.meta["alpha"], "straight")
        let over = try XCTUnwrap(load("path: \"\(dir)/p.png\", alpha: over, background: 1", dir: dir)["images"]).toArray()
        XCTAssertEqual(over[0], c * a + (1 - a), accuracy: 1e-6)

        try ImageIO.writeEXR(Tensor([0.25, 0.25, 0.25, 0.5], [1, 1, 4]), to: "\(dir)/e.exr", half: true, compression: .zip)
        let e = try load("path: \"\(dir)/e.exr\", alpha: keep", dir: dir)
        XCTAssertEqual(e.meta["colorspace"], "linear")
        XCTAssertEqual(e.meta["alpha"], "premultiplied")
        XCTAssertEqual(try load("path: \"\(dir)/e.exr\", alpha: over, background: 0.5", dir: dir)["images"]?.toArray(), [0.5, 0.5, 0.5])
    }

    func testStraightAlphaDoesNotBleedWhenResampled() throws {
        let dir = Fixture.tempDir("load")
        var px: [Float] = []
        for x in 0..<8 { px += x < 4 ? [1, 0, 0, 0] : [0, 0, 1, 1] }   // invisible red | opaque blue
        try ImageIO.writePNG(Tensor(px, [1, 8, 4]), to: "\(dir)/b.png", bits: 8)
        let out = try XCTUnwrap(load("path: \"\(dir)/b.png\", alpha: keep, width: 4, height: 1, fit: stretch", dir: dir)["images"]).toArray()
        for x in 0..<4 where out[x * 4 + 3] > 0 {
            XCTAssertEqual(out[x * 4], 0, accuracy: 1e-6, "no red where anything is visible (pixel \(x))")
            XCTAssertEqual(out[x * 4 + 2], 1, accuracy: 1e-5)
        }
        XCTAssertGreaterThan(out[1 * 4 + 3], 0)
        XCTAssertLessThan(out[1 * 4 + 3], 1, "the edge pixel is partly covered")
    }

    func testWriteFollowsEachFormatsAlphaConvention() throws {
        let dir = Fixture.tempDir("alpha")
        let c: Float = 204 / 255, a: Float = 128 / 255
        try ImageIO.writePNG(Tensor([c, c, c, a], [1, 1, 4]), to: "\(dir)/in.png", bits: 8)
        try ImageIO.writeEXR(Tensor([0.25, 0.25, 0.25, 0.5], [1, 1, 4]), to: "\(dir)/in.exr", half: false, compression: .zip)
        let g = try Fixture.graph("""
            tcgraph: 1
            nodes:
              p: { type: Load, path: "\(dir)/in.png", alpha: keep }
              e: { type: Load, path: "\(dir)/in.exr", alpha: keep }
              toEXR: { type: Write, in: { images: p.image }, path: "\(dir)/out.exr", pixel: float }
              toPNG: { type: Write, in: { images: e.image }, path: "\(dir)/out.png", bits: "16" }
            """, registry: Fixture.registry())
        _ = try Executor(graph: g, options: .test()).run()
        let exr = try ImageIO.read("\(dir)/out.exr").pixels.toArray()
        XCTAssertEqual(exr[0], ColorTransfer.srgbToLinear(c) * a, accuracy: 1e-6, "straight sRGB → linear, then premultiplied")
        XCTAssertEqual(exr[3], a)
        let png = try ImageIO.read("\(dir)/out.png").pixels.toArray()
        XCTAssertEqual(png[0], ColorTransfer.linearToSrgb(0.5), accuracy: 1.0 / 65535, "un-premultiplied, then sRGB-encoded")
        XCTAssertEqual(png[3], 0.5, accuracy: 1.0 / 65535)
    }
}
