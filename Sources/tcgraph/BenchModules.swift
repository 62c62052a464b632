import Foundation
import TCCore
import TCModels

/// One network of the pipeline at a real configuration, ready to time: `run` is one forward on
/// the real shapes (inputs made once, outside), `flops` its exact count (the FLOP counters of
/// TCModels, counted as torch's flop counter counts the reference).
struct ModuleWorkload {
    let module: String
    let shapes: String
    let flops: Double
    let run: () throws -> Void
}

/// Which configuration a module bench builds: the real ToonCrafter 512 model, or the bundled
/// small model's (for quick checks of the command itself). Weights are always synthetic.
enum BenchSize: String, CaseIterable {
    case full, tiny

    func config() throws -> ToonCrafterConfig {
        switch self {
        case .full: return .inference512
        case .tiny:
            guard let path = ModelFiles.bundledPath else {
                throw BenchError("--size tiny takes the bundled small model's config from \(ModelFiles.bundledRelativePath), "
                                 + "which is not in this checkout")
            }
            return try ModelFiles.describe(path).config
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Random weights in the real layout, timed: making them is not part of a module's run.
final class TimedSyntheticWeights: ShapeAwareTensorSource, @unchecked Sendable {
    let base: SyntheticWeights
    private let lock = NSLock()
    private var spent = 0.0

    init(dtype: DType) { base = SyntheticWeights(dtype: dtype, seed: 7) }

    /// Seconds spent making weights so far.
    var seconds: Double { lock.lock(); defer { lock.unlock() }; return spent }
    var sourceName: String { base.sourceName }
    var allKeys: [String] { base.allKeys }
    func contains(_ key: String) -> Bool { base.contains(key) }
    func tensor(_ key: String) throws -> Tensor { try timed { try base.tensor(key) } }
    func tensor(_ key: String, shape: [Int]) throws -> Tensor { try timed { try base.tensor(key, shape: shape) } }

    private func timed<T>(_ body: () throws -> T) rethrows -> T {
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer {
            lock.lock()
            spent += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            lock.unlock()
        }
        return try body()
    }
}

enum ModuleWorkloads {
    /// One UNet forward (spec §5.2): `batch` videos of T latent frames, the 77 + 16·T token
    /// context, projected inside the run as the reference's forward does.
    static func unet(_ model: ToonCrafterModel, batch b: Int) throws -> ModuleWorkload {
        let c = model.config, t = c.frames
        let h = c.height / c.latentFactor, w = c.width / c.latentFactor
        let unet = try model.unet()
        let l = DynamiCrafterUNet.textTokens + DynamiCrafterUNet.imageTokensPerFrame * t
        let x = SeededGaussianNoise(seed: 1).next([b, c.unet.inChannels, t, h, w])
        let context = SeededGaussianNoise(seed: 2).next([b, l, c.unet.contextDim])
        let steps = Array(repeating: 999, count: b), fs = Array(repeating: c.sampler.fs, count: b)
        return ModuleWorkload(module: b == 1 ? "unet" : "unet_b\(b)",
                              shapes: "B=\(b) x(\(c.unet.inChannels),\(t),\(h),\(w)) context \(l) tokens",
                              flops: c.unet.flops(batch: b, frames: t, height: h, width: w, contextLength: l).total) {
            _ = try unet(x, timesteps: steps, context: context, fs: fs)
        }
    }

    /// One dual-reference decode of T frames (the reference's `decode(z, ref_context, timesteps=T)`),
    /// the Fusion keys/values of the references included.
    static func decode(_ model: ToonCrafterModel) throws -> ModuleWorkload {
        let c = model.config, t = c.frames
        let h = c.height / c.latentFactor, w = c.width / c.latentFactor
        let decoder = try model.decoder()
        let z = SeededGaussianNoise(seed: 1).next([t, c.vae.zChannels, h, w])
        let noise = SeededGaussianNoise(seed: 3)
        var features: [Tensor] = []
        for i in 0...c.vae.levels {
            let ch = i == c.vae.levels ? c.vae.ch : c.vae.channels(level: i)
            let s = i == c.vae.levels ? c.latentFactor : c.latentFactor >> i
            features.append(noise.next([2, ch, h * s, w * s]))
        }
        let refs = try DecoderReferences(referenceContext: features.map {
            $0.reshaped([1, 2] + $0.shape.dropFirst()).permutedContiguous([0, 2, 1, 3, 4])
        })
        return ModuleWorkload(module: "decode", shapes: "\(t) frames \(c.height)x\(c.width)",
                              flops: c.vae.decoderFLOPs(frames: t, latentHeight: h, latentWidth: w)) {
            _ = try decoder(z, references: try decoder.prepare(refs), frames: t)
        }
    }

    /// The VAE encoder on the two keyframes (the only frames the pipeline encodes), with the
    /// decoder's reference taps.
    static func encode(_ model: ToonCrafterModel) throws -> ModuleWorkload {
        let c = model.config
        let encoder = try model.encoder()
        let x = clamped(SeededGaussianNoise(seed: 1).next([2, 3, c.height, c.width]))
        return ModuleWorkload(module: "encode", shapes: "2 frames \(c.height)x\(c.width)",
                              flops: c.vae.encoderFLOPs(frames: 2, height: c.height, width: c.width)) {
            _ = try encoder(x)
        }
    }

    /// The CLIP vision tower on one keyframe (its preprocessing included) and the text tower on
    /// one prompt.
    static func clip(_ model: ToonCrafterModel) throws -> ModuleWorkload {
        let c = model.config
        let vision = try model.visionTower(), text = try model.textTower()
        let image = clamped(SeededGaussianNoise(seed: 1).next([1, 3, c.height, c.width]))
        let tokens = try CLIPTokenizer().tokenize(["an anime scene"], contextLength: text.config.contextLength)
        return ModuleWorkload(module: "clip", shapes: "vision 1x\(c.height)x\(c.width) + text 1 prompt",
                              flops: c.vision.flops(batch: 1) + c.text.flops(batch: 1)) {
            _ = try vision.encode(images: image)
            _ = try text(tokens)
        }
    }

    private static func clamped(_ x: Tensor) -> Tensor { x.map { Swift.min(Swift.max($0, -1), 1) } }
}

/// The whole interpolation (two keyframes → T frames), stage by stage, for `tcgraph bench pipeline`.
struct PipelineTimings {
    var conditioning = 0.0
    var stepSeconds: [Double] = []
    var denoising = 0.0
    var decoding = 0.0
    var weights = 0.0
    var total = 0.0
    var flops = 0.0

    /// Denoising time for `steps` steps from the measured mean per step (beyond the first, which
    /// also projects the contexts) — an extrapolation when `steps` exceeds the steps run.
    func denoisingEstimate(steps: Int) -> Double {
        guard let first = stepSeconds.first else { return 0 }
        let rest = stepSeconds.dropFirst()
        let mean = rest.isEmpty ? first : rest.reduce(0, +) / Double(rest.count)
        return (denoising - stepSeconds.reduce(0, +)) + first + mean * Double(steps - 1)
    }
}

enum PipelineBench {
    static func run(config c: ToonCrafterConfig, weights: TimedSyntheticWeights, steps: Int,
                    solver: InterpolationSampling.Solver) throws -> PipelineTimings {
        let model = try ToonCrafterModel(source: weights, config: c, name: "synthetic \(weights.base.dtype)")
        var pipeline = InterpolationPipeline(model: model)
        pipeline.sampling.steps = steps
        pipeline.sampling.solver = solver
        let first = keyframe(c, seed: 1), last = keyframe(c, seed: 2)
        var timings = PipelineTimings()
        let w0 = weights.seconds
        var stageStart = DispatchTime.now().uptimeNanoseconds, stepStart = stageStart
        var stageWeights = weights.seconds
        func since(_ t: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9 }
        let start = stageStart
        let observer = SamplingObserver(progress: { _, _ in
            timings.stepSeconds.append(since(stepStart))
            stepStart = DispatchTime.now().uptimeNanoseconds
        })
        _ = try pipeline.run(first: first, last: last, prompt: c.sampler.prompt, posteriorNoise: SeededGaussianNoise(seed: 3),
                             noise: SeededGaussianNoise(seed: 4), observer: observer) { stage in
            // Weight synthesis stands in for reading a checkpoint: not counted in the stages.
            let made = weights.seconds - stageWeights
            let seconds = since(stageStart) - made
            switch stage {
            case .conditioning: timings.conditioning = seconds
            case .denoising: timings.denoising = seconds
            case .decoding: timings.decoding = seconds
            }
            if stage == .conditioning, !timings.stepSeconds.isEmpty { timings.stepSeconds.removeAll() }
            stageStart = DispatchTime.now().uptimeNanoseconds
            stepStart = stageStart
            stageWeights = weights.seconds
        }
        timings.weights = weights.seconds - w0
        timings.total = since(start) - timings.weights
        timings.flops = flops(c, steps: steps, redecode: pipeline.decoding.redecodeMiddleFrames,
                              unconditionalCached: false)
        return timings
    }

    /// FLOPs of one interpolation: CLIP (prompt and keyframe, plus the unconditional pair the first
    /// time), Resampler, encoder on 2 frames, `steps` batch-2 UNet forwards, decode (+ re-decode).
    static func flops(_ c: ToonCrafterConfig, steps: Int, redecode: Bool, unconditionalCached: Bool) -> Double {
        let t = c.frames, h = c.height / c.latentFactor, w = c.width / c.latentFactor
        let branches = unconditionalCached ? 1 : 2
        let l = DynamiCrafterUNet.textTokens + DynamiCrafterUNet.imageTokensPerFrame * t
        var f = Double(branches) * (c.vision.flops(batch: 1) + c.text.flops(batch: 1) + c.resampler.flops(batch: 1))
        f += c.vae.encoderFLOPs(frames: 2, height: c.height, width: c.width)
        f += Double(steps) * c.unet.flops(batch: 2, frames: t, height: h, width: w, contextLength: l).total
        f += c.vae.decoderFLOPs(frames: t, latentHeight: h, latentWidth: w)
        if redecode { f += c.vae.decoderFLOPs(frames: t - 2, latentHeight: h, latentWidth: w) }
        return f
    }

    /// A smooth synthetic RGB keyframe at the model's size (content does not change the timing).
    static func keyframe(_ c: ToonCrafterConfig, seed: Int) -> Tensor {
        let h = c.height, w = c.width
        let img = Tensor(empty: [h, w, 3], dtype: .u8)
        let p = img.rawPointer.assumingMemoryBound(to: UInt8.self)
        for y in 0..<h {
            for x in 0..<w {
                for ch in 0..<3 {
                    let v = 127.5 + 120 * sin(Double(x * (ch + 1) + y * (seed + 2)) / 37 + Double(seed))
                    p[(y * w + x) * 3 + ch] = UInt8(max(0, min(255, v)))
                }
            }
        }
        return img
    }
}
