import Foundation
import TCCore
import TCModels
import Testing

/// A tiny UNet whose skips line up with `tinyControlNetConfig`'s 5 residuals (32, 32, 32, 64 | 64).
private let tinyUNetConfig: UNetConfig = {
    var c = UNetConfig()
    c.modelChannels = 32
    c.channelMult = [1, 2]
    c.numResBlocks = 1
    c.attentionResolutions = [1]
    c.numHeadChannels = 16
    c.contextDim = 8
    c.temporalLength = 3
    return c
}()

/// T = 3 frames of a 4×6 latent (hints 32×48), context 77 + 16·T tokens of width 8.
private struct Setup {
    let unet: DynamiCrafterUNet
    let net: SketchControlNet
    let concat: Tensor, context: Tensor, uncond: Tensor
    let sketches: SketchFrames

    init() throws {
        unet = try DynamiCrafterUNet(WeightReader(SyntheticWeights(seed: 11)), config: tinyUNetConfig)
        // Fan-in-scaled random hint convs map a sparse sketch to almost what a blank frame gives
        // (fixture (i) notes), so they are amplified here, as the fixture does, to keep the hint
        // path visible.
        let synthetic = SyntheticWeights(seed: 12)
        _ = try SketchControlNet.load(synthetic, config: tinyControlNetConfig)
        let weights = try MemorySource.copy(of: synthetic)
        for key in weights.allKeys where key.hasPrefix("input_hint_block.") && key.hasSuffix(".weight") {
            weights.tensors[key] = weights.tensors[key]! * 4
        }
        net = try SketchControlNet.load(weights, config: tinyControlNetConfig)
        concat = sketchTestTensor([1, 4, 3, 4, 6], seed: 1)
        context = sketchTestTensor([1, 125, 8], seed: 2)
        uncond = sketchTestTensor([1, 125, 8], seed: 3)
        let lines = sketchTestTensor([3, 32, 48, 1], seed: 4).map { $0 > 0.6 ? 1 : 0 }
        sketches = try SketchFrames(frames: lines).keeping([0, 2])          // frame 1 absent (zero)
    }

    func guidance(scale: Float = 0.6, frameScales: [Float]? = nil, sketches s: SketchFrames? = nil,
                  textOnly: Bool = false) throws -> SketchGuidance {
        try SketchGuidance(controlNet: net, sketches: s ?? sketches, context: context, unconditionalContext: uncond,
                           scale: scale, frameScales: frameScales, textOnly: textOnly)
    }

    func denoiser() throws -> UNetDenoiser {
        try UNetDenoiser(unet: unet, concat: concat, context: context, unconditionalContext: uncond, fs: 10)
    }

    /// The residuals of `noisy` (1, 4, T, h, w) computed directly by the ControlNet, one branch.
    func direct(_ noisy: Tensor, context c: Tensor, timestep: Int, hints: SketchFrames? = nil) throws -> [Tensor] {
        let s = hints ?? sketches
        let x = noisy.permutedContiguous([0, 2, 1, 3, 4]).reshaped([3, 4, 4, 6])
        return try net(x, hint: s.frames.reshaped([3, 1, 32, 48]), timesteps: [timestep, timestep, timestep], context: c)
    }
}

/// A provider that counts the calls it forwards.
private final class Counting: ControlProvider {
    let inner: ControlProvider
    var calls = 0
    init(_ inner: ControlProvider) { self.inner = inner }
    func residuals(noisy: Tensor, timestep: Int) throws -> [Tensor] {
        calls += 1
        return try inner.residuals(noisy: noisy, timestep: timestep)
    }
}

private func bitwiseEqual(_ a: Tensor, _ b: Tensor) -> Bool {
    let x = a.contiguous(), y = b.contiguous()
    return x.shape == y.shape && memcmp(x.rawPointer, y.rawPointer, x.count * 4) == 0
}

/// Sketch guidance in sampling (sketch-and-colorize.md §1.3–§1.5, §6.3–§6.7).
@Suite struct SketchGuidanceTests {
    /// The hint embedding runs once per video, however many steps and branches use it.
    @Test func hintEmbeddingIsComputedOnce() throws {
        let s = try Setup()
        let g = try s.guidance()
        let denoiser = try s.denoiser()
        try denoiser.guide(with: g)
        let counting = Counting(g)
        denoiser.control = counting
        var sampler = DDIMSampler(schedule: NoiseSchedule())
        sampler.steps = 3
        _ = try sampler.sample(denoiser, shape: s.concat.shape, noise: SeededGaussianNoise(seed: 5))
        #expect(counting.calls == 3)
        #expect(g.hintEvaluations == 1)
    }

    /// One batched call serves both branches; each half equals the ControlNet run on its own
    /// context, with the same hints.
    @Test func eachBranchUsesItsOwnContext() throws {
        let s = try Setup()
        let g = try s.guidance()
        let x = sketchTestTensor([1, 4, 3, 4, 6], seed: 6)
        let both = try g.residuals(noisy: concat([x, x], axis: 0), timestep: 501)
        let cond = try s.direct(x, context: s.context, timestep: 501)
        let uncond = try s.direct(x, context: s.uncond, timestep: 501)
        for (i, r) in both.enumerated() {
            #expect(maxAbsDifference(r.sliced(axis: 0, 0..<3).contiguous(), cond[i]) < 1e-5)
            #expect(maxAbsDifference(r.sliced(axis: 0, 3..<6).contiguous(), uncond[i]) < 1e-5)
            if i > 0 { #expect(maxAbsDifference(cond[i], uncond[i]) > 1e-4) }    // residual 0 precedes attention
        }
        let single = try g.residuals(noisy: x, timestep: 501)
        for (a, b) in zip(single, cond) { #expect(maxAbsDifference(a, b) < 1e-5) }
    }

    /// An absent frame is a zero hint and still runs through the encoder: its residuals are those of
    /// an all-zero sketch, not zero; a present frame's residuals depend on its sketch.
    @Test func absentFramesAreZeroHintsThatStillRun() throws {
        let s = try Setup()
        #expect(s.sketches.present == [true, false, true])
        let g = try s.guidance()
        let x = sketchTestTensor([1, 4, 3, 4, 6], seed: 7)
        let r = try g.residuals(noisy: x, timestep: 301)
        let blank = try SketchFrames.sparse([:], frameCount: 3, height: 32, width: 48)
        let zero = try s.direct(x, context: s.context, timestep: 301, hints: blank)
        for (a, b) in zip(r, zero) {
            let rows = a.count / 3
            let d = zip(a.toArray(), b.toArray()).map { abs($0 - $1) }
            #expect(d[rows..<(2 * rows)].max()! < 1e-5)                  // frame 1: as if blank
            #expect(b.toArray()[rows..<(2 * rows)].map(abs).max()! > 1e-3)  // … which is not nothing
            #expect(d[0..<rows].max()! > 1e-4)                            // frame 0 has its sketch
        }
    }

    /// A bisection pattern picked from dense sketches keeps exactly those frames' hints.
    @Test func sparsePatternSelectsFrames() throws {
        let s = try Setup()
        let dense = try SketchFrames(frames: sketchTestTensor([3, 32, 48, 1], seed: 8).map { $0 > 0.5 ? 1 : 0 })
        let pattern = try SparseGuidance.bisectionFrames(level: 0, frameCount: 3)
        #expect(pattern == [0, 2])
        let sparse = try dense.keeping(pattern)
        let x = sketchTestTensor([1, 4, 3, 4, 6], seed: 9)
        let a = try s.guidance(sketches: sparse).residuals(noisy: x, timestep: 99)
        let b = try s.direct(x, context: s.context, timestep: 99, hints: sparse)
        for (u, v) in zip(a, b) { #expect(maxAbsDifference(u, v) < 1e-5) }
    }

    /// Per-frame factors multiply each frame's residuals; without them the residuals are raw.
    @Test func perFrameScale() throws {
        let s = try Setup()
        let x = sketchTestTensor([1, 4, 3, 4, 6], seed: 10)
        let raw = try s.guidance().residuals(noisy: x, timestep: 700)
        let scaled = try s.guidance(frameScales: [1, 0, 0.25]).residuals(noisy: x, timestep: 700)
        for (r, q) in zip(raw, scaled) {
            let rows = r.count / 3
            let rv = r.toArray(), qv = q.toArray()
            for i in 0..<r.count {
                let f: Float = [1, 0, 0.25][i / rows]
                #expect(qv[i] == rv[i] * f)
            }
        }
    }

    /// The UNet adds residual · control_scale; the denoiser gets the guidance's scale.
    @Test func guidedPredictionAddsScaledResiduals() throws {
        let s = try Setup()
        let g = try s.guidance(scale: 0.6)
        let guided = try s.denoiser()
        try guided.guide(with: g)
        #expect(guided.controlScale == 0.6)
        let x = sketchTestTensor([1, 4, 3, 4, 6], seed: 12)
        let (vc, vu) = try guided.predict(x, timestep: 401)
        let res = try g.residuals(noisy: concat([x, x], axis: 0), timestep: 401)
        let ctx = try s.unet.prepare(context: concat([s.context, s.uncond], axis: 0), frames: 3)
        let v = try s.unet(concat([concat([x, x], axis: 0), concat([s.concat, s.concat], axis: 0)], axis: 1),
                           timesteps: [401, 401], context: ctx, fs: [10, 10], control: res, controlScale: 0.6)
        #expect(maxAbsDifference(v.sliced(axis: 0, 0..<1).contiguous(), vc) < 1e-5)
        #expect(maxAbsDifference(v.sliced(axis: 0, 1..<2).contiguous(), vu!) < 1e-5)
        let plain = try s.denoiser().predict(x, timestep: 401)
        #expect(maxAbsDifference(plain.cond, vc) > 1e-4)
    }

    /// No control, or control that adds nothing, leaves the UNet output bit for bit as the plain path.
    @Test func withoutControlTheOutputIsBitIdentical() throws {
        let s = try Setup()
        let x = sketchTestTensor([1, 4, 3, 4, 6], seed: 13)
        let plain = try s.denoiser().predict(x, timestep: 999)

        let blank = try SketchFrames.sparse([:], frameCount: 3, height: 32, width: 48)
        let inert = try s.guidance(scale: 0, sketches: blank)
        #expect(inert.isInert)
        let fast = try s.denoiser()
        try fast.guide(with: inert)
        #expect(fast.control == nil)                     // the documented fast path: not attached
        let a = try fast.predict(x, timestep: 999)
        #expect(bitwiseEqual(a.cond, plain.cond) && bitwiseEqual(a.uncond!, plain.uncond!))

        // Scale 0 with real sketches still runs the encoder; adding 0·r changes nothing.
        let zeroScale = try s.guidance(scale: 0)
        #expect(!zeroScale.isInert)
        let slow = try s.denoiser()
        try slow.guide(with: zeroScale)
        #expect(slow.control != nil)
        let b = try slow.predict(x, timestep: 999)
        #expect(b.cond.toArray() == plain.cond.toArray() && b.uncond!.toArray() == plain.uncond!.toArray())

        // Blank sketches at a non-zero scale are not inert: the encoder still sees the latent.
        #expect(!(try s.guidance(scale: 0.6, sketches: blank)).isInert)
    }

    @Test func textOnlyContext() throws {
        let s = try Setup()
        let x = sketchTestTensor([1, 4, 3, 4, 6], seed: 14)
        let a = try s.guidance(textOnly: true).residuals(noisy: x, timestep: 50)
        let b = try s.direct(x, context: s.context.sliced(axis: 1, 0..<77).contiguous(), timestep: 50)
        for (u, v) in zip(a, b) { #expect(maxAbsDifference(u, v) < 1e-5) }
    }

    @Test func errors() throws {
        let s = try Setup()
        func make(_ hints: Tensor, context: Tensor? = nil, uncond: Tensor? = nil, frameScales: [Float]? = nil) throws -> SketchGuidance {
            try SketchGuidance(controlNet: s.net, hints: hints, context: context ?? s.context, unconditionalContext: uncond ?? s.uncond,
                               frameScales: frameScales)
        }
        #expect(throws: SketchError.self) { try make(Tensor(zeros: [3, 3, 32, 48])) }                       // channels
        #expect(throws: SketchError.self) { try make(Tensor(zeros: [3, 1, 30, 48])) }                       // not 8× a latent
        #expect(throws: SketchError.self) { try make(Tensor(zeros: [3, 32, 48])) }                          // rank
        #expect(throws: SketchError.self) { try make(Tensor(zeros: [3, 1, 32, 48]), context: Tensor(zeros: [2, 125, 8]),
                                                     uncond: Tensor(zeros: [2, 125, 8])) }               // 3 frames for 2 videos
        #expect(throws: SketchError.self) { try make(Tensor(zeros: [3, 1, 32, 48]), frameScales: [1, 1]) }
        #expect(throws: ModelInputError.self) { try make(Tensor(zeros: [3, 1, 32, 48]), uncond: Tensor(zeros: [1, 77, 8])) }
        #expect(throws: ModelInputError.self) { try make(Tensor(zeros: [3, 1, 32, 48]), context: Tensor(zeros: [1, 125, 9]),
                                                         uncond: Tensor(zeros: [1, 125, 9])) }

        let g = try s.guidance()
        // Hint count or size that does not match the keyframe latents is refused before sampling.
        let fourFrames = try SketchGuidance(controlNet: s.net, hints: Tensor(zeros: [4, 1, 32, 48]), context: s.context,
                                            unconditionalContext: s.uncond)
        #expect(throws: ModelInputError.self) { try s.denoiser().guide(with: fourFrames) }
        let bigger = try SketchGuidance(controlNet: s.net, hints: Tensor(zeros: [3, 1, 64, 48]), context: s.context,
                                        unconditionalContext: s.uncond)
        #expect(throws: ModelInputError.self) { try s.denoiser().guide(with: bigger) }
        let condOnly = try SketchGuidance(controlNet: s.net, sketches: s.sketches, context: s.context, unconditionalContext: nil)
        #expect(throws: ModelInputError.self) { try s.denoiser().guide(with: condOnly) }
        #expect(throws: ModelInputError.self) { try condOnly.residuals(noisy: Tensor(zeros: [2, 4, 3, 4, 6]), timestep: 1) }
        #expect(throws: ModelInputError.self) { try g.residuals(noisy: Tensor(zeros: [3, 4, 3, 4, 6]), timestep: 1) }
        #expect(throws: ModelInputError.self) { try g.residuals(noisy: Tensor(zeros: [1, 4, 3, 4, 8]), timestep: 1) }
    }
}

/// The bundled small model (models/tcgraph-tiny): its UNet and its trained sketch ControlNet line up
/// and sample together through the real loading code.
@Suite struct SketchGuidanceTinyModelTests {
    static let unetFile: String? = {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = repo.appendingPathComponent("models/tcgraph-tiny/tcgraph-tiny.safetensors").path
        return FileManager.default.fileExists(atPath: p) && SketchModelFiles.bundledControlNetPath != nil ? p : nil
    }()

    static func load() throws -> (unet: DynamiCrafterUNet, net: SketchControlNet, file: SafeTensorsFile, meta: ConfigDict) {
        let file = try SafeTensorsFile(path: unetFile!)
        let meta = try ConfigDict(json: file.metadata["tcgraph_model"]!)
        let unetConfig = try UNetConfig(try meta.dict("model_config").dict("params").dict("unet_config"))
        let path = SketchModelFiles.bundledControlNetPath!
        return (try DynamiCrafterUNet.load(file, config: unetConfig),
                try SketchControlNet.load(path: path, config: try SketchModelFiles.controlNetConfig(forFile: path).config), file, meta)
    }

    /// Sketch-guided DDIM against tools/train/tcnet (SketchFixtures/make_sketch_sampling_fixture.py),
    /// which wires the ControlNet as the community reference does: per guidance branch with that
    /// branch's context, one hint embedding, residuals times control_scale. Here the two branches
    /// run as one batch, as the Denoise node runs them. Tolerance: the parity README's sampler rule.
    @Test(.enabled(if: unetFile != nil, "models/tcgraph-tiny is not in this checkout"))
    func matchesTheTorchPortOnTheBundledModel() throws {
        let (unet, net, file, meta) = try Self.load()
        let f = try SafeTensorsFile(path: SketchFixtures.local("sketch_sampling_small.safetensors"))
        let config = try ConfigDict(json: f.metadata["sketch_sampling"]!)
        let context = try f.tensor("input.context"), uncond = try f.tensor("input.uncond_context")
        let concat = try f.tensor("input.c_concat")
        let bytes = try f.tensor("input.hint_uint8")
        let hints = bytes.float32().map { $0 / 255 }.reshaped([bytes.dim(0), 1, bytes.dim(1), bytes.dim(2)])
        let guidance = try SketchGuidance(controlNet: net, hints: hints, context: context, unconditionalContext: uncond,
                                          scale: Float(try config.double("control_scale")))
        let denoiser = try UNetDenoiser(unet: unet, concat: concat, context: context, unconditionalContext: uncond,
                                        fs: try config.int("fs"))
        try denoiser.guide(with: guidance)

        let params = try NoiseSchedule.Parameters(try meta.dict("model_config").dict("params"))
        var sampler = DDIMSampler(schedule: try NoiseSchedule(params).overridden(by: file).0)
        sampler.steps = try config.int("steps")
        sampler.eta = try config.double("eta")
        sampler.guidance = Guidance(scale: Float(try config.double("cfg")), rescale: Float(try config.double("guidance_rescale")))
        let names = ["x_T"] + (0..<sampler.steps).map { "step\($0)" }
        let noise = RecordedNoise(try names.map { try f.tensor("input.noise.\($0)") })
        var out: [String: Tensor] = [:]
        out["samples"] = try sampler.sample(denoiser, shape: concat.shape, noise: noise, observer: SamplingObserver(trace: {
            out["step\($0.step).v_cond"] = $0.vCond
            out["step\($0.step).v_uncond"] = $0.vUncond
            out["step\($0.step).x_prev"] = $0.xPrev
        }))
        for key in f.keys.filter({ $0.hasPrefix("output.") }).sorted() {
            let name = String(key.dropFirst(7)), want = try f.tensor(key)
            let got = try #require(out[name])
            let rel = relativeL2(got, want), scale = max(1, want.toArray().map(abs).max()!)
            print(String(format: "sketch_sampling_small %-16@ max|Δ| %.2e  rel-L2 %.2e", name, maxAbsDifference(got, want), rel))
            #expect(rel < 1e-4, "\(name)")
            #expect(maxAbsDifference(got, want) < 1e-3 * scale, "\(name)")
        }
        // The sketches matter: without them the first step's conditional v is elsewhere.
        let plain = try UNetDenoiser(unet: unet, concat: concat, context: context, unconditionalContext: uncond, fs: 10)
        let x = try f.tensor("input.noise.x_T")
        #expect(maxAbsDifference(try plain.predict(x, timestep: 999).cond, try f.tensor("output.step0.v_cond")) > 1e-2)
    }

    @Test(.enabled(if: unetFile != nil, "models/tcgraph-tiny is not in this checkout"))
    func sketchGuidedSamplingWithTheBundledModel() throws {
        let (unet, net, _, _) = try Self.load()
        let unetConfig = unet.config
        let t = unetConfig.temporalLength, h = 8, w = 16
        let context = sketchTestTensor([1, 77 + 16 * t, unetConfig.contextDim], seed: 21)
        let uncond = sketchTestTensor([1, 77 + 16 * t, unetConfig.contextDim], seed: 22)
        let concat = sketchTestTensor([1, 4, t, h, w], seed: 23)
        let lines = sketchTestTensor([t, 8 * h, 8 * w, 1], seed: 24).map { $0 > 0.9 ? 1 : 0 }
        let sketches = try SketchFrames(frames: lines).keeping(try SparseGuidance.bisectionFrames(level: 2, frameCount: t))
        var sampler = DDIMSampler(schedule: NoiseSchedule())
        sampler.steps = 2
        func sample(_ g: SketchGuidance?) throws -> Tensor {
            let d = try UNetDenoiser(unet: unet, concat: concat, context: context, unconditionalContext: uncond, fs: 10)
            if let g { try d.guide(with: g) }
            return try sampler.sample(d, shape: concat.shape, noise: SeededGaussianNoise(seed: 9))
        }
        let plain = try sample(nil)
        let guided = try sample(try SketchConditioning.guidance(controlNet: net, sketches: sketches, concat: concat, context: context,
                                                               unconditionalContext: uncond, scale: 1))
        #expect(guided.toArray().allSatisfy { $0.isFinite })
        #expect(maxAbsDifference(plain, guided) > 1e-3)
        let blank = try SketchFrames.sparse([:], frameCount: t, height: 8 * h, width: 8 * w)
        let inert = try sample(try SketchConditioning.guidance(controlNet: net, sketches: blank, concat: concat, context: context,
                                                              unconditionalContext: uncond, scale: 0))
        #expect(inert.toArray() == plain.toArray())
    }
}
