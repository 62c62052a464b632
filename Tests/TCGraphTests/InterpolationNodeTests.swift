import Foundation
import TCCore
import TCGraph
import TCImageIO
import XCTest

/// The interpolation nodes (Encode, Denoise, DetailDecode) run by the engine on the small model in
/// models/tcgraph-tiny, and graphs/interp.yaml through the CLI. Few steps keep them fast.
final class InterpolationNodeTests: XCTestCase {
    static let plugins = ["Encode", "Denoise", "DetailDecode"].map { "\(Fixture.products)/libTCPlugin\($0).so" }
    static let bundled = "\(Fixture.repo)/models/tcgraph-tiny/tcgraph-tiny.safetensors"

    override func setUpWithError() throws {
        for p in Self.plugins where !FileManager.default.fileExists(atPath: p) {
            XCTFail("\(p) is missing: build first with `swift build -c release`")
            throw XCTSkip("interpolation plugins not built")
        }
        guard FileManager.default.fileExists(atPath: Self.bundled) else { throw XCTSkip("\(Self.bundled) is not in this checkout") }
    }

    /// Two PNG keyframes of the given sizes in a fresh folder.
    func keyframes(_ a: (Int, Int), _ b: (Int, Int)) throws -> (String, String) {
        let dir = Fixture.tempDir("keys")
        var paths: [String] = []
        for (i, (w, h)) in [a, b].enumerated() {
            let img = Tensor((0..<(h * w * 3)).map { Float(($0 / 3 % w + i * 40 + $0 % 3 * 60) % 256) / 255 }, [h, w, 3])
            let p = "\(dir)/key\(i).png"
            try ImageIO.writePNG(img, to: p, bits: 8)
            paths.append(p)
        }
        return (paths[0], paths[1])
    }

    func graph(first: String, last: String, encode: String = "", denoise: String = "steps: 2",
               decode: String = "") -> String {
        """
        tcgraph: 1
        nodes:
          a: { type: Load, path: "\(first)" }
          b: { type: Load, path: "\(last)" }
          cond: { type: Encode, in: { first: a.image, last: b.image }\(encode.isEmpty ? "" : ", \(encode)") }
          lat: { type: Denoise, in: { cond: cond.cond }, \(denoise) }
          video: { type: DetailDecode, in: { latents: lat.latents, refs: cond.refs }\(decode.isEmpty ? "" : ", \(decode)") }
        """
    }

    func run(_ yaml: String, models: [String] = [], observer: RecordingObserver = RecordingObserver()) throws -> RunReport {
        let g = try Fixture.graph(yaml, registry: Fixture.registry())
        return try Executor(graph: g, options: .test(models: models, observer: observer)).run()
    }

    func testKeyframesOfAnySizeBecomeTheModelsFrames() throws {
        let (a, b) = try keyframes((90, 50), (40, 120))
        let observer = RecordingObserver()
        let report = try run(graph(first: a, last: b, encode: "prompt: \"a ball\", seed: 5"), observer: observer)
        let images = try XCTUnwrap(report.outputs["video"]?[0])
        let frames = try XCTUnwrap(images["images"])
        XCTAssertEqual(frames.shape, [16, 64, 128, 3])
        XCTAssertTrue(frames.toArray().allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertEqual(images.meta["colorspace"], "srgb")
        XCTAssertEqual(images.meta["frames"], (1...16).map(String.init).joined(separator: ","))
        XCTAssertEqual(images.meta["seed"], "123")
        XCTAssertEqual(images.meta["prompt"], "a ball")
        // One progress report per denoising step, and the notice naming the model once.
        XCTAssertEqual(observer.progress.filter { $0.0 == "lat" }.map { "\($0.1)/\($0.2)" }, ["1/2", "2/2"])
        let notices = observer.logs.filter { $0.2.contains("small demo model bundled with tcgraph") }
        XCTAssertEqual(notices.map(\.0), ["cond"])
        XCTAssertTrue(notices[0].2.contains("huggingface.co/Doubiiu/ToonCrafter"))
    }

    /// The same seeds give the same frames; another Denoise seed other frames; `pad`, other frame
    /// counts, DPM-Solver++ and no middle re-decode run.
    func testSeedsAndOptions() throws {
        let (a, b) = try keyframes((128, 64), (128, 64))
        func frames(_ encode: String = "", _ denoise: String = "steps: 2", _ decode: String = "") throws -> Tensor {
            try XCTUnwrap(run(graph(first: a, last: b, encode: encode, denoise: denoise, decode: decode)).outputs["video"]?[0]["images"])
        }
        let reference = try frames()
        XCTAssertEqual(try frames().toArray(), reference.toArray())
        XCTAssertNotEqual(try frames("", "steps: 2, seed: 9").toArray(), reference.toArray())
        XCTAssertNotEqual(try frames("seed: 9").toArray(), reference.toArray())
        XCTAssertEqual(try frames("", "steps: 2, frames: 8").shape, [8, 64, 128, 3])
        XCTAssertEqual(try frames("fit: pad", "steps: 2, solver: dpmpp2m", "middle_redecode: false").shape, [16, 64, 128, 3])
    }

    /// `precision: f32` is the default path bit for bit; bf16 (where the CPU has it) stays close to
    /// it without being equal; an unknown precision is refused before anything runs.
    func testPrecisionPerNode() throws {
        let (a, b) = try keyframes((128, 64), (128, 64))
        func frames(_ denoise: String, _ decode: String = "") throws -> [Float] {
            try XCTUnwrap(run(graph(first: a, last: b, denoise: denoise, decode: decode)).outputs["video"]?[0]["images"]).toArray()
        }
        let reference = try frames("steps: 2")
        XCTAssertEqual(try frames("steps: 2, precision: f32", "precision: f32"), reference)
        if ComputePrecision.bf16Available {
            let bf16 = try frames("steps: 2, precision: bf16")
            XCTAssertNotEqual(bf16, reference)
            let mean = zip(bf16, reference).map { abs($0 - $1) }.reduce(0, +) / Float(reference.count)
            XCTAssertLessThan(mean, 0.05)
        }
        XCTAssertThrowsError(try run(graph(first: a, last: b, denoise: "steps: 2, precision: f64"))) { e in
            XCTAssertTrue("\(e)".contains("node 'lat': parameter 'precision' expects one of auto|f32|bf16, got 'f64'"), "\(e)")
        }
    }

    func testWrongInputsAreRefusedBeforeCompute() throws {
        let (a, b) = try keyframes((128, 64), (128, 64))
        let dir = Fixture.tempDir("seq")
        for f in 1...2 { try FileManager.default.copyItem(atPath: a, toPath: "\(dir)/s.000\(f).png") }
        XCTAssertThrowsError(try run(graph(first: "\(dir)/s.####.png", last: b))) { e in
            XCTAssertTrue("\(e)".hasPrefix("node 'cond' (Encode) failed: input 'first': Encode takes one keyframe per input, got 2 frames"), "\(e)")
        }
        XCTAssertThrowsError(try run(graph(first: a, last: b, encode: "width: 100"))) { e in
            XCTAssertTrue("\(e)".contains("frame size 100×64 must be a positive multiple of 64"), "\(e)")
        }
    }

    /// Without any weights the first model node stops before computing, naming the file expected
    /// and where to get it; nothing downstream runs.
    func testMissingModelIsReportedBeforeCompute() throws {
        let (a, b) = try keyframes((128, 64), (128, 64))
        let empty = Fixture.tempDir("models")
        let observer = RecordingObserver()
        XCTAssertThrowsError(try run(graph(first: a, last: b, encode: "model: tooncrafter"), models: [empty], observer: observer)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.hasPrefix("node 'cond' (Encode) failed: model file not found: looked for 'model.ckpt'"), m)
            XCTAssertTrue(m.contains(empty) && m.contains("https://huggingface.co/Doubiiu/ToonCrafter"), m)
        }
        XCTAssertEqual(observer.started, ["a", "b", "cond"])
        XCTAssertThrowsError(try run(graph(first: a, last: b, encode: "model: \"\(a)\""))) { e in
            XCTAssertTrue("\(e)".contains("neither a safetensors file nor a PyTorch zip checkpoint"), "\(e)")
        }
    }

    /// A model file in the model folders is found by name, and one opened by the first node is the
    /// one every later node uses.
    func testModelFromTheModelFolders() throws {
        let (a, b) = try keyframes((128, 64), (128, 64))
        let models = Fixture.tempDir("models")
        try FileManager.default.createSymbolicLink(atPath: "\(models)/mine.safetensors", withDestinationPath: Self.bundled)
        let report = try run(graph(first: a, last: b, encode: "model: mine.safetensors"), models: [models])
        let images = try XCTUnwrap(report.outputs["video"]?[0])
        XCTAssertEqual(images.meta["model"], "\(models)/mine.safetensors")
        XCTAssertEqual(images.meta["model_name"], "tcgraph-tiny")
    }

    /// Sampling settings a graph leaves out are the model's own (its config's ddim_eta,
    /// unconditional_guidance_scale, guidance_rescale, frame_stride); settings on the node win.
    func testSamplingSettingsComeFromTheModelUnlessSet() throws {
        let meta = try SafeTensorsFile(path: Self.bundled).metadata["tcgraph_model"]
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(meta).utf8)) as? [String: Any])
        func number(_ key: String) throws -> Double { try XCTUnwrap(config[key] as? NSNumber, key).doubleValue }
        let expected = "cfg \(Float(try number("unconditional_guidance_scale"))), rescale \(Float(try number("guidance_rescale"))), "
            + "eta \(try number("ddim_eta")), fs \(Int(try number("frame_stride")))"
        let (a, b) = try keyframes((128, 64), (128, 64))
        func settings(_ denoise: String) throws -> String {
            let observer = RecordingObserver()
            _ = try run(graph(first: a, last: b, denoise: denoise), observer: observer)
            return try XCTUnwrap(observer.logs.first { $0.0 == "lat" && $0.2.hasPrefix("ddim ") }?.2)
        }
        XCTAssertEqual(try settings("steps: 1"), "ddim 1 steps, \(expected), seed 123")
        XCTAssertEqual(try settings("steps: 1, cfg: 2.5, guidance_rescale: 0.25, eta: 0.5, fs: 12, seed: 4"),
                       "ddim 1 steps, cfg 2.5, rescale 0.25, eta 0.5, fs 12, seed 4")
    }

    func testInterpGraphThroughTheCLI() throws {
        let dir = Fixture.tempDir("cli")
        let (a, b) = try keyframes((300, 200), (64, 64))
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = dir
        env.removeValue(forKey: "TCGRAPH_MODELS")
        let g = "\(Fixture.repo)/graphs/interp.yaml"
        let valid = try Fixture.tcgraph(["validate", g], cwd: Fixture.repo, environment: env)
        XCTAssertEqual(valid.status, 0, valid.stderr)
        let args = ["run", g, "--set", "first=\(a)", "--set", "last=\(b)", "--set", "out=\(dir)/out", "--set", "steps=2", "--no-cache"]
        let r = try Fixture.tcgraph(args, cwd: Fixture.repo, environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        let files = Fixture.files("\(dir)/out")
        XCTAssertEqual(files, (1...16).flatMap { [String(format: "frame.%04d.exr", $0), String(format: "frame.%04d.png", $0)] }.sorted()
            + ["preview.gif"])
        XCTAssertEqual(try ImageIO.read("\(dir)/out/frame.0001.png").pixels.shape, [64, 128, 3])
        XCTAssertTrue(r.stderr.contains("small demo model bundled with tcgraph"), r.stderr)

        let missing = try Fixture.tcgraph(args.map { $0 == "out=\(dir)/out" ? "out=\(dir)/none" : $0 } + ["--set", "model=tooncrafter"],
                                          cwd: Fixture.repo, environment: env)
        XCTAssertEqual(missing.status, 70)
        XCTAssertTrue(missing.stderr.contains("model.ckpt") && missing.stderr.contains("Doubiiu/ToonCrafter"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/none"))
    }
}
