import Foundation
import TCCore
import TCImageIO
import XCTest

/// The tcgraph executable: commands, documented exit codes, messages, and no partial outputs.
final class CLITests: XCTestCase {
    /// Runs tcgraph in a fresh folder with a private cache; extra plugin search path optional.
    func tcgraph(_ args: [String], in dir: String, cPlugin: Bool = false) throws -> Fixture.Output {
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = dir
        env.removeValue(forKey: "TCGRAPH_PLUGIN_PATH")
        let plugins = cPlugin ? ["--plugins", try Fixture.cPlugin.get()] : []
        return try Fixture.tcgraph(args + plugins, cwd: dir, environment: env)
    }

    func graph(_ yaml: String, in dir: String) -> String {
        Fixture.write(yaml, to: "\(dir)/g.yaml")
        return "g.yaml"
    }

    func testVersionAndHelp() throws {
        let dir = Fixture.tempDir("cli")
        let v = try tcgraph(["--version"], in: dir)
        XCTAssertEqual(v.status, 0)
        XCTAssertEqual(v.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0.1.0")
        let h = try tcgraph(["--help"], in: dir)
        XCTAssertTrue(h.stdout.contains("130  cancelled"), h.stdout)
        XCTAssertEqual(try tcgraph(["run"], in: dir).status, 64, "missing argument is a usage error")
        let missing = try tcgraph(["run", "nope.yaml"], in: dir)
        XCTAssertEqual(missing.status, 64)
        XCTAssertEqual(missing.stderr, "tcgraph: error: nope.yaml: no such graph file\n")
    }

    func testNodesDocumentsEveryNodeFromItsDescriptor() throws {
        let dir = Fixture.tempDir("cli")
        let list = try tcgraph(["nodes"], in: dir)
        XCTAssertEqual(list.status, 0)
        // The name column is as wide as the longest node type of the installed plugins.
        XCTAssertNotNil(list.stdout.range(of: "Load +Read a PNG or OpenEXR image", options: .regularExpression), list.stdout)
        XCTAssertNotNil(list.stdout.range(of: "Write +Write frames as a PNG or OpenEXR sequence", options: .regularExpression), list.stdout)
        let load = try tcgraph(["nodes", "Load"], in: dir)
        XCTAssertTrue(load.stdout.contains("Outputs:\n  image  IMAGE  Frames [T, H, W, 3|4] float32."), load.stdout)
        XCTAssertTrue(load.stdout.contains("  fit  (crop|pad|stretch, default crop)"), load.stdout)
        XCTAssertTrue(load.stdout.contains("  width  (int, default 0, 0…16384)"), load.stdout)
        let unknown = try tcgraph(["nodes", "Nope"], in: dir)
        XCTAssertEqual(unknown.status, 64)
        XCTAssertTrue(unknown.stderr.contains("unknown node type 'Nope'"))
    }

    func testValidate() throws {
        let dir = Fixture.tempDir("cli")
        let ok = try tcgraph(["validate", "\(Fixture.repo)/graphs/png_to_exr.yaml"], in: dir)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.hasSuffix("valid, 2 nodes: load → save\n"), ok.stdout)
        let bad = try tcgraph(["validate", graph("tcgraph: 1\nnodes:\n  a: { type: Nope }\n", in: dir)], in: dir)
        XCTAssertEqual(bad.status, 65)
        XCTAssertTrue(bad.stderr.hasPrefix("g.yaml:3:14: error: unknown node type 'Nope'"), bad.stderr)
    }

    func testEngineGraphRunsEndToEndAndIsCachedAfterwards() throws {
        let dir = Fixture.tempDir("cli")
        let g = "\(Fixture.repo)/graphs/png_to_exr.yaml"
        let args = ["run", g, "--set", "src=\(Fixture.repo)/examples/ball/ball.####.png", "--set", "out=\(dir)/out", "--cache", "\(dir)/cache"]
        let first = try tcgraph(args, in: dir)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("tcgraph: node=load progress=12/12 pct=100"), "plain progress lines off a TTY:\n\(first.stderr)")
        let files = Fixture.files("\(dir)/out")
        XCTAssertEqual(files, (1...12).map { String(format: "ball.%04d.exr", $0) } + ["ball_preview.gif"])

        let frame = try ImageIO.read("\(dir)/out/ball.0001.exr")
        XCTAssertEqual(frame.pixels.shape, [320, 512, 3])
        XCTAssertEqual(frame.bitDepth, 16)
        // The sky (250, 236, 205) in the top-left corner, now linear light.
        let expected = [250, 236, 205].map { ColorTransfer.srgbToLinear(Float($0) / 255) }
        for k in 0..<3 { XCTAssertEqual(frame.pixels.f32[k], expected[k], accuracy: 1e-3) }
        XCTAssertEqual(ImageIO.exrAttribute("\(dir)/out/ball.0001.exr", name: "tcgraph:graph"), "png_to_exr")
        XCTAssertEqual(ImageIO.exrAttribute("\(dir)/out/ball.0001.exr", name: "tcgraph:version"), "0.1.0")
        XCTAssertEqual(ImageIO.exrAttribute("\(dir)/out/ball.0007.exr", name: "tcgraph:frame"), "7")

        let second = try tcgraph(args, in: dir)
        XCTAssertEqual(second.status, 0)
        XCTAssertTrue(second.stderr.contains("node=load cached"), second.stderr)
        XCTAssertTrue(second.stderr.contains("(1 ran, 1 cached)"), second.stderr)
        XCTAssertEqual(Fixture.files("\(dir)/out").count, 13, "same frames replaced, nothing added")
    }

    func testCPluginFramesThroughWriteWithMetadataAndColourConversion() throws {
        let dir = Fixture.tempDir("cli")
        let g = graph("""
            tcgraph: 1
            name: grad
            nodes:
              g: { type: CGradient, width: 5, height: 3 }
              png: { type: Write, in: { images: g.image }, path: out/g.####.png, bits: "16", start: 10 }
              exr: { type: Write, in: { images: g.image }, path: out/g.exr, pixel: float }
              raw: { type: Write, in: { images: g.image }, path: out/raw.exr, pixel: float, convert: false }
            """, in: dir)
        let r = try tcgraph(["run", g, "--no-cache"], in: dir, cPlugin: true)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Fixture.files("\(dir)/out"), ["g.0010.png", "g.exr", "raw.exr"])
        let png = try ImageIO.read("\(dir)/out/g.0010.png")
        XCTAssertEqual(png.pixels.shape, [3, 5, 3])
        XCTAssertEqual(png.pixels.f32[3 * (1 * 5 + 4)], 1, "x = 4 of 4")
        XCTAssertEqual(png.pixels.f32[3 * (1 * 5 + 4) + 1], Float(32768) / 65535, accuracy: 1e-7, "y = 1 of 2, 16-bit")
        XCTAssertEqual(ImageIO.pngText("\(dir)/out/g.0010.png", key: "tcgraph:seed"), "42")
        XCTAssertEqual(ImageIO.pngText("\(dir)/out/g.0010.png", key: "tcgraph:graph"), "grad")
        let exr = try ImageIO.read("\(dir)/out/g.exr").pixels
        let raw = try ImageIO.read("\(dir)/out/raw.exr").pixels
        XCTAssertEqual(raw.f32[2], 0.25, "convert: false writes values as they are")
        XCTAssertEqual(exr.f32[2], ColorTransfer.srgbToLinear(0.25), accuracy: 1e-7, "sRGB → linear for EXR")
        XCTAssertEqual(ImageIO.exrAttribute("\(dir)/out/g.exr", name: "tcgraph:seed"), "42")
    }

    func testMalformedYAMLExitsWithValidationCode() throws {
        let dir = Fixture.tempDir("cli")
        let r = try tcgraph(["run", graph("tcgraph: 1\nnodes:\n  a: { type: Load, path: x.png\n", in: dir)], in: dir)
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.hasPrefix("g.yaml:4:1: error: YAML syntax: "), r.stderr)
    }

    func testWrongPortKindExitsWithValidationCode() throws {
        let dir = Fixture.tempDir("cli")
        let r = try tcgraph(["run", graph("tcgraph: 1\nnodes:\n  s: { type: CSource }\n  w: { type: Write, in: { images: s.data }, path: o.png }\n", in: dir)],
                            in: dir, cPlugin: true)
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stderr, "g.yaml:4:35: error: input 'images' of node 'w' expects IMAGE, but s.data is TENSORS\n")
    }

    func testSetErrors() throws {
        let dir = Fixture.tempDir("cli")
        let g = graph("tcgraph: 1\nparams: { w: 4 }\nnodes:\n  g: { type: CGradient, width: $w }\n", in: dir)
        let unknown = try tcgraph(["run", g, "--set", "h=3"], in: dir, cPlugin: true)
        XCTAssertEqual(unknown.status, 64)
        XCTAssertTrue(unknown.stderr.contains("--set h=…: the graph has no parameter 'h' (it has: w)"), unknown.stderr)
        let badType = try tcgraph(["run", g, "--set", "w=wide"], in: dir, cPlugin: true)
        XCTAssertEqual(badType.status, 65)
        XCTAssertTrue(badType.stderr.contains("g.yaml:4:32: error: node 'g': parameter 'width' expects an integer, got 'wide' (from $w, set at --set w=wide)"), badType.stderr)
    }

    func testPluginLoadFailureExitCode() throws {
        let dir = Fixture.tempDir("cli")
        Fixture.write("garbage", to: "\(dir)/libTCPluginBad.so")
        let r = try tcgraph(["nodes", "--plugins", dir], in: dir)
        XCTAssertEqual(r.status, 66)
        XCTAssertTrue(r.stderr.hasPrefix("tcgraph: error: plugin \(dir)/libTCPluginBad.so: cannot load plugin library"), r.stderr)
    }

    /// A graph loading `input` into a PNG sequence under out/.
    func loadGraph(_ input: String, in dir: String) -> String {
        graph("tcgraph: 1\nnodes:\n  load: { type: Load, path: \"\(input)\" }\n  save: { type: Write, in: { images: load.image }, path: out/f.####.png }\n", in: dir)
    }

    func testMissingInputFile() throws {
        let dir = Fixture.tempDir("cli")
        let r = try tcgraph(["run", loadGraph("in/missing.png", in: dir), "--no-cache"], in: dir)
        XCTAssertEqual(r.status, 70)
        XCTAssertTrue(r.stderr.contains("tcgraph: error: node 'load' (Load) failed: in/missing.png: no such file"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out"))
    }

    func testCorruptPNGInASequence() throws {
        let dir = Fixture.tempDir("cli")
        try FileManager.default.createDirectory(atPath: "\(dir)/in", withIntermediateDirectories: true)
        let img = Tensor(repeating: 0.5, [8, 8, 3])
        try ImageIO.writePNG(img, to: "\(dir)/in/s.0001.png", bits: 8)
        try ImageIO.writePNG(img, to: "\(dir)/in/s.0002.png", bits: 8)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/in/s.0002.png"))
        try bytes.prefix(bytes.count - 20).write(to: URL(fileURLWithPath: "\(dir)/in/s.0002.png"))
        let r = try tcgraph(["run", loadGraph("in/s.####.png", in: dir), "--no-cache"], in: dir)
        XCTAssertEqual(r.status, 70)
        XCTAssertTrue(r.stderr.contains("failed: in/s.0002.png: corrupt or unsupported PNG: "), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out"), "nothing written")
    }

    func testTruncatedEXR() throws {
        let dir = Fixture.tempDir("cli")
        try ImageIO.writeEXR(Tensor(repeating: 0.5, [64, 64, 3]), to: "\(dir)/t.exr", half: false, compression: .zip)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/t.exr"))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: "\(dir)/t.exr"))
        let r = try tcgraph(["run", loadGraph("t.exr", in: dir), "--no-cache"], in: dir)
        XCTAssertEqual(r.status, 70)
        XCTAssertTrue(r.stderr.contains("failed: t.exr: corrupt or unsupported EXR: "), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out"))
    }

    func testUnwritableOutputFolder() throws {
        let dir = Fixture.tempDir("cli")
        Fixture.write("not a folder", to: "\(dir)/blocker")
        let g = graph("tcgraph: 1\nnodes:\n  g: { type: CGradient }\n  w: { type: Write, in: { images: g.image }, path: blocker/sub/f.png }\n", in: dir)
        let r = try tcgraph(["run", g, "--no-cache"], in: dir, cPlugin: true)
        XCTAssertEqual(r.status, 70)
        XCTAssertTrue(r.stderr.contains("node 'w' (Write) failed: cannot create the output folder blocker/sub: "), r.stderr)
        XCTAssertEqual(Fixture.files(dir), ["blocker", "g.yaml"])
    }

    func testExistingSequenceOfAnotherLengthIsNotMixed() throws {
        let dir = Fixture.tempDir("cli")
        let g = graph("tcgraph: 1\nparams: { s: 1, ow: false }\nnodes:\n  g: { type: CGradient }\n  w: { type: Write, in: { images: g.image }, path: out/f.####.png, start: $s, overwrite: $ow }\n", in: dir)
        XCTAssertEqual(try tcgraph(["run", g, "--no-cache"], in: dir, cPlugin: true).status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/out/f.0001.png"))
        let r = try tcgraph(["run", g, "--no-cache", "--set", "s=5"], in: dir, cPlugin: true)
        XCTAssertEqual(r.status, 70)
        XCTAssertTrue(r.stderr.contains("out/f.####.png already holds 1 frame (1); this run writes 1 frame (5). Refusing to mix two sequences"), r.stderr)
        XCTAssertEqual(Fixture.files("\(dir)/out"), ["f.0001.png"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/out/f.0001.png")), before)
        let overwrite = try tcgraph(["run", g, "--no-cache", "--set", "s=5", "--set", "ow=true"], in: dir, cPlugin: true)
        XCTAssertEqual(overwrite.status, 0, overwrite.stderr)
        XCTAssertEqual(Fixture.files("\(dir)/out"), ["f.0005.png"], "overwrite replaces the old sequence")
    }

    func testFailureAfterFramesLeavesNothingBehind() throws {
        let dir = Fixture.tempDir("cli")
        Fixture.write("not a folder", to: "\(dir)/blocker")
        let g = graph("tcgraph: 1\nnodes:\n  g: { type: CGradient }\n  w: { type: Write, in: { images: g.image }, path: out/f.####.exr, preview: blocker/p.gif }\n", in: dir)
        let r = try tcgraph(["run", g, "--no-cache"], in: dir, cPlugin: true)
        XCTAssertEqual(r.status, 70)
        XCTAssertTrue(r.stderr.contains("blocker/p.gif: cannot write the GIF preview"), r.stderr)
        XCTAssertEqual(Fixture.files("\(dir)/out"), [], "frames and temporaries removed")
    }

    func testMP4PreviewNeedsFFmpeg() throws {
        let dir = Fixture.tempDir("cli")
        let g = graph("tcgraph: 1\nnodes:\n  g: { type: CGradient, width: 16, height: 8 }\n  w: { type: Write, in: { images: g.image }, path: out/f.png, preview: out/p.mp4 }\n", in: dir)
        let r = try tcgraph(["run", g, "--no-cache"], in: dir, cPlugin: true)
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        if path.contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/ffmpeg") }) {
            XCTAssertEqual(r.status, 0, r.stderr)
            let mp4 = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/out/p.mp4"))
            XCTAssertEqual(String(decoding: mp4[4..<8], as: UTF8.self), "ftyp")
        } else {
            XCTAssertEqual(r.status, 70)
            XCTAssertTrue(r.stderr.contains("out/p.mp4: an MP4 preview needs ffmpeg on PATH (install it, or use a .gif preview)"), r.stderr)
            XCTAssertEqual(Fixture.files(dir), ["g.yaml"], "no frame either")
        }
    }

    func testCtrlCStopsCleanlyWithNoPartialOutputs() throws {
        try Fixture.requireBuild()
        let dir = Fixture.tempDir("cli")
        let g = graph("tcgraph: 1\nnodes:\n  s: { type: CSlow, steps: 3000 }\n  g: { type: CGradient }\n  w: { type: Write, in: { images: g.image }, path: out/f.####.png }\n", in: dir)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Fixture.executable)
        p.arguments = ["run", g, "--no-cache", "--plugins", try Fixture.cPlugin.get()]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        let start = Date()
        try p.run()
        Thread.sleep(forTimeInterval: 1.0)
        p.interrupt()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130, text)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "stopped inside the 30 s node")
        XCTAssertTrue(text.contains("tcgraph: cancelled while running node 's'"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out"))
    }
}
