import Foundation
import TCCore
import TCModels
import Testing

private let controlNetFixture = SketchFixtures.path("sketch_controlnet.safetensors")
private let controlNetSkip: Comment = "needs ../shared/parity/sketch_controlnet.safetensors (or TCGRAPH_SHARED); skipped"

/// The tiny checkpoint of SketchFixtures/make_controlnet_checkpoint.py (its CONFIG).
let tinyControlNetConfig: ControlNetConfig = {
    var c = ControlNetConfig()
    c.modelChannels = 32
    c.attentionResolutions = [1]
    c.numResBlocks = 1
    c.channelMult = [1, 2]
    c.numHeadChannels = 16
    c.contextDim = 8
    return c
}()

private func fixtureNet() throws -> (ParityFixture, SketchControlNet) {
    let f = try ParityFixture(path: controlNetFixture!)
    return (f, try SketchControlNet.load(try FixtureWeights(f), config: try ControlNetConfig(f.config)))
}

func relativeL2(_ a: Tensor, _ b: Tensor) -> Double {
    var num = 0.0, den = 0.0
    for (x, y) in zip(a.toArray(), b.toArray()) {
        num += Double(x - y) * Double(x - y)
        den += Double(y) * Double(y)
    }
    return (num / max(den, 1e-30)).squareRoot()
}

/// Fixture (i) and the loading rules of `sketch_encoder.ckpt` (sketch-and-colorize.md §0, §1.2, §6.1).
@Suite struct SketchControlNetTests {
    @Test(.enabled(if: controlNetFixture != nil, controlNetSkip))
    func parityWithFixture() throws {
        #expect(try ParityFixtures.failures("sketch_controlnet") == [])
    }

    /// The reference call repeats each video's context per frame; preparing it once per video
    /// and letting the video's frames share it is the same computation.
    @Test(.enabled(if: controlNetFixture != nil, controlNetSkip))
    func perFrameContextEqualsPerVideoContext() throws {
        let (f, net) = try fixtureNet()
        let x = try f.input("x"), hint = try f.input("hint"), t = try f.input("timesteps").toInts()
        let perFrame = try net(x, hint: hint, timesteps: t, context: try f.input("context"))
        let perVideo = try net(x, hint: hint, timesteps: t, context: try f.input("context_video"))
        for (a, b) in zip(perFrame, perVideo) { #expect(relativeL2(a, b) < 1e-5) }
        for (i, a) in perFrame.enumerated() {
            #expect(relativeL2(a, try f.expected("control.\(i)")) < 1e-5)
        }
    }

    /// Frames are independent: a frame's residuals depend only on its own latent, hint, timestep
    /// and context, so one call on a frame alone gives that frame's rows of the batched call.
    @Test(.enabled(if: controlNetFixture != nil, controlNetSkip))
    func framesAreIndependent() throws {
        let (f, net) = try fixtureNet()
        let x = try f.input("x"), hint = try f.input("hint"), ctx = try f.input("context")
        let t = try f.input("timesteps").toInts()
        let all = try net(x, hint: hint, timesteps: t, context: ctx)
        let k = 4
        let one = try net(x.sliced(axis: 0, k..<(k + 1)).contiguous(), hint: hint.sliced(axis: 0, k..<(k + 1)).contiguous(),
                          timesteps: [t[k]], context: ctx.sliced(axis: 0, k..<(k + 1)).contiguous())
        for (a, b) in zip(all, one) {
            #expect(relativeL2(a.sliced(axis: 0, k..<(k + 1)).contiguous(), b) < 1e-5)
        }
        // The hint path is live: blanking frame k's sketch moves frame k's residuals, and only those.
        let blanked = hint.copy()
        let per = hint.count / hint.dim(0)
        (blanked.f32 + k * per).update(repeating: 0, count: per)
        let changed = try net(x, hint: blanked, timesteps: t, context: ctx)
        for (a, b) in zip(all, changed) {
            let rows = a.count / a.dim(0)
            let d = zip(a.toArray(), b.toArray()).map { abs($0 - $1) }
            #expect(d[(k * rows)..<((k + 1) * rows)].max()! > 1e-3)
            #expect(d[0..<(k * rows)].max()! == 0 && (d[((k + 1) * rows)...].max() ?? 0) == 0)
        }
    }

    @Test func releasedLayoutCounts() throws {
        let layout = try SketchControlNet.expectedLayout()
        #expect(layout.count == 340)
        #expect(layout.reduce(0) { $0 + $1.shape.reduce(1, *) } == 364_227_952)
        #expect(layout.first { $0.key == "input_hint_block.0.weight" }?.shape == [16, 1, 3, 3])
        #expect(layout.first { $0.key == "input_blocks.0.0.weight" }?.shape == [320, 4, 3, 3])
        #expect(ControlNetConfig().residualChannels == [320, 320, 320, 320, 640, 640, 640, 1280, 1280, 1280, 1280, 1280, 1280])
    }

    /// Every key and shape of the real `sketch_encoder.ckpt` as the fixture generator recorded it
    /// from the reference class at full size.
    @Test(.enabled(if: controlNetFixture != nil, controlNetSkip))
    func releasedLayoutMatchesReference() throws {
        let f = try ParityFixture(path: controlNetFixture!)
        let ref = try f.meta.dict("full_size_reference")
        let keys = try ref.dict("keys")
        let mine = try SketchControlNet.expectedLayout()
        #expect(mine.count == (try ref.int("num_tensors")))
        #expect(mine.reduce(0) { $0 + $1.shape.reduce(1, *) } == (try ref.int("total_parameters")))
        #expect(Set(mine.map(\.key)) == Set(keys.values.keys))
        for (key, shape) in mine { #expect((try keys.ints(key)) == shape, "\(key)") }
    }

    @Test(.enabled(if: controlNetFixture != nil, controlNetSkip))
    func strictLoadListsEveryProblem() throws {
        let f = try ParityFixture(path: controlNetFixture!)
        let config = try ControlNetConfig(f.config)
        let source = try MemorySource.copy(of: try FixtureWeights(f))
        source.tensors["zero_convs.3.0.bias"] = nil
        source.tensors["middle_block_out.0.weight"] = nil
        source.tensors["control_model.extra"] = Tensor(zeros: [2])
        source.tensors["input_hint_block.14.bias"] = Tensor(zeros: [31])
        do {
            _ = try SketchControlNet.load(source, config: config)
            Issue.record("a damaged checkpoint loaded")
        } catch let SketchError.layoutMismatch(name, _, missing, unexpected, wrong) {
            #expect(name == source.sourceName)
            #expect(Set(missing) == ["zero_convs.3.0.bias", "middle_block_out.0.weight"])
            #expect(unexpected == ["control_model.extra"])
            #expect(wrong == ["input_hint_block.14.bias: expected [32], got [31]"])
        }
        // A checkpoint of another width is refused by shape, not computed with.
        #expect(throws: SketchError.self) { try SketchControlNet.load(try FixtureWeights(f)) }
    }

    /// `sketch_encoder.ckpt` is a PyTorch zip checkpoint with the bare keys inside `state_dict`
    /// (plus bookkeeping): read through core's restricted unpickler, loaded strictly, and equal to
    /// the PyTorch forward of the same weights.
    @Test func loadsTorchCheckpointWithStateDict() throws {
        let net = try SketchControlNet.load(path: SketchFixtures.local("controlnet_tiny.ckpt"), config: tinyControlNetConfig)
        let io = try SafeTensorsFile(path: SketchFixtures.local("controlnet_tiny_io.safetensors"))
        let residuals = try net(try io.tensor("input.x"), hint: try io.tensor("input.hint"),
                                timesteps: try io.tensor("input.timesteps").toInts(), context: try io.tensor("input.context"))
        #expect(residuals.count == 5)
        for (i, r) in residuals.enumerated() {
            let want = try io.tensor("output.control.\(i)")
            #expect(r.shape == want.shape)
            #expect(relativeL2(r, want) < 1e-5)
            #expect(maxAbsDifference(r, want) < 1e-4)
        }
    }

    /// `sketch_encoder-fp16.safetensors` (Kijai): the same keys in half precision, kept in f16 by
    /// the loader and converted per layer.
    @Test func loadsHalfPrecisionSafetensors() throws {
        let ckpt = try openWeightFile(SketchFixtures.local("controlnet_tiny.ckpt"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sketch_encoder-fp16-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let entries = try ckpt.allKeys.map { key in
            let shape = try ckpt.tensor(key).shape
            return SafeTensorsEntry(key: key, dtype: .f16, shape: shape) { try ckpt.tensor(key) }
        }
        _ = try writeSafeTensors(entries, to: path)
        let half = try SketchControlNet.load(path: path, config: tinyControlNetConfig)
        let full = try SketchControlNet.load(ckpt, config: tinyControlNetConfig)
        let io = try SafeTensorsFile(path: SketchFixtures.local("controlnet_tiny_io.safetensors"))
        let args = (x: try io.tensor("input.x"), hint: try io.tensor("input.hint"),
                    t: try io.tensor("input.timesteps").toInts(), c: try io.tensor("input.context"))
        let a = try half(args.x, hint: args.hint, timesteps: args.t, context: args.c)
        let b = try full(args.x, hint: args.hint, timesteps: args.t, context: args.c)
        for (r16, r32) in zip(a, b) { #expect(relativeL2(r16, r32) < 5e-3) }
    }

    @Test func buildsFromSyntheticWeights() throws {
        let w = SyntheticWeights(seed: 3)
        let net = try SketchControlNet.load(w, config: tinyControlNetConfig)
        #expect(net.residualCount == 5)
        #expect(w.layout.count == (try SketchControlNet.expectedLayout(tinyControlNetConfig)).count)
    }

    @Test func inputErrors() throws {
        let net = try SketchControlNet.load(SyntheticWeights(seed: 1), config: tinyControlNetConfig)
        let x = Tensor(zeros: [2, 4, 5, 7]), hint = Tensor(zeros: [2, 1, 40, 56]), ctx = Tensor(zeros: [2, 11, 8])
        #expect(throws: ModelInputError.self) { try net.embedHint(Tensor(zeros: [2, 3, 40, 56])) }
        #expect(throws: ModelInputError.self) { try net.embedHint(Tensor(zeros: [1, 40, 56])) }
        #expect(throws: ModelInputError.self) { try net(x, hint: Tensor(zeros: [2, 1, 48, 56]), timesteps: [1, 1], context: ctx) }
        #expect(throws: ModelInputError.self) { try net(x, hint: hint, timesteps: [1], context: ctx) }
        #expect(throws: ModelInputError.self) { try net(x, hint: hint, timesteps: [1, 1], context: Tensor(zeros: [2, 11, 9])) }
        #expect(throws: ModelInputError.self) { try net(x, hint: hint, timesteps: [1, 1], context: Tensor(zeros: [3, 11, 8])) }
        #expect(throws: ModelInputError.self) { try net(Tensor(zeros: [2, 8, 5, 7]), hint: hint, timesteps: [1, 1], context: ctx) }
        // A hint that halves onto the latent size three times is what the module needs.
        #expect(try net(x, hint: Tensor(zeros: [2, 1, 37, 50]), timesteps: [1, 1], context: ctx).count == 5)
    }

    @Test func configParsing() throws {
        let yaml: [String: Any] = ["control_stage_config": ["target": "cldm.cldm.ControlNet", "params": [
            "image_size": 32, "in_channels": 4, "hint_channels": 1, "model_channels": 320,
            "attention_resolutions": [4, 2, 1], "num_res_blocks": 2, "channel_mult": [1, 2, 4, 4],
            "num_head_channels": 64, "use_spatial_transformer": true, "use_linear_in_transformer": true,
            "transformer_depth": 1, "context_dim": 1024, "use_checkpoint": true, "legacy": false,
        ] as [String: Any]] as [String: Any]]
        #expect(try ControlNetConfig(ConfigDict(yaml)) == ControlNetConfig())
        var params = (yaml["control_stage_config"] as! [String: Any])["params"] as! [String: Any]
        params["use_scale_shift_norm"] = true
        #expect(throws: ConfigError.self) { try ControlNetConfig(ConfigDict(params)) }
        params["use_scale_shift_norm"] = false
        params["use_spatial_transformer"] = false
        #expect(throws: ConfigError.self) { try ControlNetConfig(ConfigDict(params)) }
        params["use_spatial_transformer"] = true
        params["num_head_channels"] = 48
        #expect(throws: ConfigError.self) { try ControlNetConfig(ConfigDict(params)) }
    }
}

/// Full-size sketch encoder (TCGRAPH_HEAVY_TESTS=1): the released config on synthetic fp16 weights
/// (as `sketch_encoder-fp16.safetensors` is stored), one sampling step's call: both guidance
/// branches of a 16-frame 320×512 video (N = 32 frames at 40×64, 333-token context). Prints the
/// hint embedding (once per video) and the per-step time and the peak tensor memory; asserts
/// only shapes and finiteness.
@Test(.enabled(if: ProcessInfo.processInfo.environment["TCGRAPH_HEAVY_TESTS"] == "1", "heavy: set TCGRAPH_HEAVY_TESTS=1"))
func fullSizeSketchEncoderStep() throws {
    let net = try SketchControlNet.load(SyntheticWeights(dtype: .f16, seed: 5))
    let hints = SeededGaussianNoise(seed: 1).next([16, 1, 320, 512]).map { $0 > 1.5 ? 1 : 0 }
    let context = SeededGaussianNoise(seed: 2).next([2, 333, 1024])
    MemoryStats.shared.resetPeak()
    var start = Date()
    let guided = try net.embedHint(hints)
    let hintSeconds = Date().timeIntervalSince(start)
    let prepared = try net.prepare(context: context)
    let x = SeededGaussianNoise(seed: 3).next([32, 4, 40, 64])
    start = Date()
    let r = try net(x, guidedHint: concat([guided, guided], axis: 0), timesteps: Array(repeating: 999, count: 32), context: prepared)
    let stepSeconds = Date().timeIntervalSince(start)
    print(String(format: "full-size sketch encoder: hint embedding of 16 frames %.1f s (once per video); one step, 32 frames: %.1f s; peak tensor memory %.2f GiB",
                 hintSeconds, stepSeconds, Double(MemoryStats.shared.peakBytes) / Double(1 << 30)))
    #expect(r.count == 13 && r[0].shape == [32, 320, 40, 64] && r[12].shape == [32, 1280, 5, 8])
    let finite = r.allSatisfy { $0.toArray().allSatisfy { $0.isFinite } }
    #expect(finite)
}
