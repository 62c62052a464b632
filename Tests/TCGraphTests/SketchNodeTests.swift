import Foundation
import TCCore
import TCGraph
import TCImageIO
import XCTest

/// The SketchExtract and Colorize nodes run through the graph engine (sketch-and-colorize.md §4, §5).
final class SketchNodeTests: XCTestCase {
    override func setUpWithError() throws {
        for lib in ["libTCPluginSketchExtract.so", "libTCPluginColorize.so"]
        where !FileManager.default.fileExists(atPath: Fixture.products + "/" + lib) {
            throw XCTSkip("\(lib) is not built: build first with `swift build -c release`")
        }
    }

    /// Runs `nodes` (YAML lines) and returns the sink outputs.
    func run(_ nodes: String) throws -> [String: [PortValue]] {
        let g = try Fixture.graph("tcgraph: 1\nnodes:\n" + nodes, registry: Fixture.registry())
        return try Executor(graph: g, options: .test()).run().outputs
    }

    func failure(_ nodes: String) -> String {
        do {
            _ = try run(nodes)
            return "no error"
        } catch let RunError.nodeFailed(_, _, message) {
            return message
        } catch {
            return "\(error)"
        }
    }

    /// `count` drawings h×w: black ink (a row at y = 4 + f) on white paper, as PNG frames 0…count−1.
    func drawings(_ count: Int, paper: Float = 1, ink: Float = 0, h: Int = 16, w: Int = 24) throws -> String {
        let dir = Fixture.tempDir("drawings")
        for f in 0..<count {
            var v = [Float](repeating: paper, count: h * w * 3)
            for x in 0..<w { for c in 0..<3 { v[((4 + f % 8) * w + x) * 3 + c] = ink } }
            try ImageIO.writePNG(Tensor(v, [h, w, 3]), to: "\(dir)/d.\(String(format: "%04d", f)).png", bits: 8)
        }
        return "\(dir)/d.####.png"
    }

    func colourFrame(_ w: Int = 24, _ h: Int = 16, value: Float = 0.5) throws -> String {
        let path = Fixture.tempDir("ref") + "/ref.png"
        try ImageIO.writePNG(Tensor(repeating: value, [h, w, 3]), to: path, bits: 8)
        return path
    }

    func testDrawnSketchesAutoPolarityAndPattern() throws {
        let path = try drawings(16)
        let out = try run("""
              d: { type: Load, path: "\(path)" }
              s: { type: SketchExtract, in: { images: d.image }, method: drawn, pattern: bisection1 }

            """)
        let v = try XCTUnwrap(out["s"]?[0])
        let sketch = try XCTUnwrap(v["sketch"]), present = try XCTUnwrap(v["present"])
        XCTAssertEqual(sketch.shape, [16, 16, 24, 1])
        XCTAssertEqual(present.dtype, .u8)
        XCTAssertEqual(present.toArray(), (0..<16).map { [0, 7, 15].contains($0) ? 1 : 0 })
        XCTAssertEqual(v.meta["polarity"], Array(repeating: "black_on_white", count: 16).joined(separator: ","))
        XCTAssertEqual(v.meta["pattern"], "bisection1")
        let a = sketch.toArray(), n = 16 * 24
        XCTAssertEqual(a[7 * n + (4 + 7) * 24 + 3], 1, "ink becomes a white line")
        XCTAssertEqual(a[7 * n + 0], 0, "paper becomes black")
        XCTAssertTrue(a[(1 * n)..<(2 * n)].allSatisfy { $0 == 0 }, "frames off the pattern are blank")
    }

    /// One drawing per pattern frame goes to that frame; white-on-black drawings are used as they are.
    func testSparseInputMapsToPatternFrames() throws {
        let path = try drawings(3, paper: 0, ink: 1)
        let out = try run("""
              d: { type: Load, path: "\(path)" }
              s: { type: SketchExtract, in: { images: d.image }, method: drawn, pattern: bisection1, frames: 16 }

            """)
        let v = try XCTUnwrap(out["s"]?[0])
        let a = try XCTUnwrap(v["sketch"]).toArray(), n = 16 * 24
        XCTAssertEqual(try XCTUnwrap(v["present"]).toArray(), (0..<16).map { [0, 7, 15].contains($0) ? 1 : 0 })
        XCTAssertEqual(v.meta["polarity"], "white_on_black,white_on_black,white_on_black")
        for (k, f) in [0, 7, 15].enumerated() { XCTAssertEqual(a[f * n + (4 + k) * 24], 1, "drawing \(k) at frame \(f)") }
    }

    func testExtractorsAndFitting() throws {
        // Line widths are relative to the frame: DoG's blur is 6 px at a 512-px short side.
        let path = try drawings(2, h: 128, w: 192)
        for method in ["dog", "xdog"] {
            let out = try run("""
                  d: { type: Load, path: "\(path)" }
                  s: { type: SketchExtract, in: { images: d.image }, method: \(method), width: 48, height: 48 }

                """)
            let sketch = try XCTUnwrap(out["s"]?[0]["sketch"])
            XCTAssertEqual(sketch.shape, [2, 48, 48, 1], method)
            XCTAssertGreaterThan(sketch.toArray().max()!, 0.1, method)
        }
    }

    func testSketchExtractErrors() throws {
        let path = try drawings(5)
        XCTAssertTrue(failure("""
              d: { type: Load, path: "\(path)" }
              s: { type: SketchExtract, in: { images: d.image }, pattern: bisection1, frames: 16 }

            """).contains("needs 16 (one per frame) or 3"))
        XCTAssertTrue(failure("""
              d: { type: Load, path: "\(path)" }
              s: { type: SketchExtract, in: { images: d.image }, pattern: "0,9" }

            """).contains("0…4, got 9"))
        XCTAssertTrue(failure("""
              d: { type: Load, path: "\(path)" }
              s: { type: SketchExtract, in: { images: d.image }, pattern: sparse }

            """).contains("sketch pattern"))
        XCTAssertTrue(failure("""
              d: { type: Load, path: "\(path)" }
              s: { type: SketchExtract, in: { images: d.image }, width: 64 }

            """).contains("set both width and height"))
        let models = Fixture.tempDir("empty-models")
        let g = try Fixture.graph("""
            tcgraph: 1
            nodes:
              d: { type: Load, path: "\(path)" }
              s: { type: SketchExtract, in: { images: d.image }, method: anime2sketch }

            """, registry: Fixture.registry())
        XCTAssertThrowsError(try Executor(graph: g, options: .test(models: [models])).run()) { e in
            guard case let .nodeFailed(node, _, message) = e as? RunError else { return XCTFail("\(e)") }
            XCTAssertEqual(node, "s")
            XCTAssertTrue(message.contains("sketch_extractor.pth"), message)
        }
    }

    func testColorizeDualReference() throws {
        let out = try run("""
              d:  { type: Load, path: "\(try drawings(16))" }
              s:  { type: SketchExtract, in: { images: d.image }, method: drawn }
              r:  { type: Load, path: "\(try colourFrame(value: 0.2))" }
              r2: { type: Load, path: "\(try colourFrame(value: 0.8))" }
              c:  { type: Colorize, in: { sketch: s.sketch, reference: r.image, reference_last: r2.image } }

            """)
        let c = try XCTUnwrap(out["c"])
        XCTAssertEqual(c.count, 3)
        XCTAssertEqual(c[0].meta["loop"], "0")
        XCTAssertEqual(try XCTUnwrap(c[0]["images"]).toArray()[0], 0.2, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(c[1]["images"]).toArray()[0], 0.8, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(c[2]["sketch"]).shape, [16, 16, 24, 1])
        XCTAssertEqual(c[2].meta["loop"], "0")
    }

    /// One reference: the reference at both ends, sketch 0 appended as the last frame, loop = 1.
    func testColorizeSingleReferenceLoops() throws {
        let out = try run("""
              d: { type: Load, path: "\(try drawings(15))" }
              s: { type: SketchExtract, in: { images: d.image }, method: drawn }
              r: { type: Load, path: "\(try colourFrame(value: 0.2))" }
              c: { type: Colorize, in: { sketch: s.sketch, reference: r.image } }

            """)
        let c = try XCTUnwrap(out["c"])
        XCTAssertEqual(c[0].meta["loop"], "1")
        XCTAssertEqual(c[0].meta["colorize"], "single_reference")
        XCTAssertEqual(try XCTUnwrap(c[1]["images"]).toArray(), try XCTUnwrap(c[0]["images"]).toArray())
        let sketch = try XCTUnwrap(c[2]["sketch"]).toArray(), n = 16 * 24
        XCTAssertEqual(sketch.count, 16 * n)
        XCTAssertEqual(Array(sketch[(15 * n)...]), Array(sketch[0..<n]))
    }

    func testColorizeRejectsWrongCountsAndFrames() throws {
        let ref = try colourFrame()
        XCTAssertTrue(failure("""
              d:  { type: Load, path: "\(try drawings(12))" }
              s:  { type: SketchExtract, in: { images: d.image }, method: drawn }
              r:  { type: Load, path: "\(ref)" }
              c:  { type: Colorize, in: { sketch: s.sketch, reference: r.image, reference_last: r.image } }

            """).contains("expected 16"))
        XCTAssertTrue(failure("""
              d:  { type: Load, path: "\(try drawings(12))" }
              s:  { type: SketchExtract, in: { images: d.image }, method: drawn }
              r:  { type: Load, path: "\(ref)" }
              c:  { type: Colorize, in: { sketch: s.sketch, reference: r.image } }

            """).contains("expected 15"))
        let two = try drawings(2)
        XCTAssertTrue(failure("""
              d:  { type: Load, path: "\(try drawings(16))" }
              s:  { type: SketchExtract, in: { images: d.image }, method: drawn }
              r:  { type: Load, path: "\(two)" }
              c:  { type: Colorize, in: { sketch: s.sketch, reference: r.image } }

            """).contains("expected one colour frame"))
    }

    /// The example drawings the sketch graphs use: black on white, detected as such, dense.
    func testExampleSketches() throws {
        let path = Fixture.repo + "/examples/cartoon_1000007_sketches/sketch.####.png"
        let out = try run("""
              d: { type: Load, path: "\(path)" }
              s: { type: SketchExtract, in: { images: d.image }, method: drawn, pattern: bisection2 }

            """)
        let v = try XCTUnwrap(out["s"]?[0])
        XCTAssertEqual(try XCTUnwrap(v["sketch"]).shape, [16, 64, 128, 1])
        XCTAssertFalse(v.meta["polarity"]!.contains("white_on_black"))
        XCTAssertEqual(try XCTUnwrap(v["present"]).toArray(), (0..<16).map { [0, 3, 7, 11, 15].contains($0) ? 1 : 0 })
    }

    /// The three sketch graphs end to end through the CLI on the bundled small model (2 steps).
    func testSketchGraphsRunEndToEnd() throws {
        try requireInterpolation()
        let dir = Fixture.tempDir("sketch-graphs")
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = dir
        env.removeValue(forKey: "TCGRAPH_MODELS")
        for (graph, frames) in [("interp_sketch", 16), ("colorize", 16), ("colorize_single", 15)] {
            let out = "\(dir)/\(graph)"
            let r = try Fixture.tcgraph(["run", "graphs/\(graph).yaml", "--set", "steps=2", "--set", "out=\(out)", "--no-cache"],
                                        cwd: Fixture.repo, environment: env)
            XCTAssertEqual(r.status, 0, "\(graph): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("sketch guidance:"), r.stderr)
            XCTAssertEqual(Fixture.files(out), (1...frames).map { String(format: "frame.%04d.png", $0) } + ["preview.gif"], graph)
        }
    }

    /// Denoise's sketch input: a count that does not match the frames, and a sketch model that does
    /// not fit the UNet, are errors naming the numbers; scale 0 with blank sketches is the plain run.
    func testDenoiseSketchInput() throws {
        try requireInterpolation()
        let key = Fixture.repo + "/examples/cartoon_1000007/key_a.png"
        let head = """
              a: { type: Load, path: "\(key)" }
              c: { type: Encode, in: { first: a.image, last: a.image } }

            """
        XCTAssertTrue(failure(head + """
              d: { type: Load, path: "\(try drawings(12))" }
              s: { type: SketchExtract, in: { images: d.image }, method: drawn }
              l: { type: Denoise, in: { cond: c.cond, sketch: s.sketch }, steps: 1 }

            """).contains("sketch frames: expected 16"))
        let fixture = Fixture.repo + "/Tests/TCModelsTests/SketchFixtures/controlnet_tiny.ckpt"
        XCTAssertTrue(failure(head + """
              d: { type: Load, path: "\(try drawings(16))" }
              s: { type: SketchExtract, in: { images: d.image }, method: drawn }
              l: { type: Denoise, in: { cond: c.cond, sketch: s.sketch }, steps: 1, sketch_model: "\(fixture)" }

            """).contains("not a sketch ControlNet"))

        let blank = try drawings(16, paper: 1, ink: 1)
        let plain = try run(head + "  l: { type: Denoise, in: { cond: c.cond }, steps: 2 }\n")
        let inert = try run(head + """
              d: { type: Load, path: "\(blank)" }
              s: { type: SketchExtract, in: { images: d.image }, method: drawn }
              l: { type: Denoise, in: { cond: c.cond, sketch: s.sketch }, steps: 2, control_scale: 0 }

            """)
        XCTAssertEqual(try XCTUnwrap(inert["l"]?[0]["latents"]).toArray(), try XCTUnwrap(plain["l"]?[0]["latents"]).toArray())
    }

    func requireInterpolation() throws {
        for p in ["Encode", "Denoise", "DetailDecode"] where !FileManager.default.fileExists(atPath: "\(Fixture.products)/libTCPlugin\(p).so") {
            throw XCTSkip("libTCPlugin\(p).so is not built")
        }
        guard FileManager.default.fileExists(atPath: Fixture.repo + "/models/tcgraph-tiny/tcgraph-tiny-sketch.safetensors") else {
            throw XCTSkip("models/tcgraph-tiny is not in this checkout")
        }
    }
}
