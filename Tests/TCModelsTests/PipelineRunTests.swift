import Foundation
import Testing
import TCCore
import TCModels

/// The interpolation pipeline's stages and options on a toy model with random weights (no files
/// needed): shapes, the c_concat layout, determinism, the unconditional-context cache, the frame
/// count, the solver and the middle-frame re-decode.
@Suite struct PipelineRunTests {
    @Test func concatHoldsTheKeyframesAtTheEnds() throws {
        let z = SeededGaussianNoise(seed: 3).next([2, 4, 2, 3])
        let c = try interpolationConcat(keyframes: z, frames: 5)
        #expect(c.shape == [1, 4, 5, 2, 3])
        let frames = try latentFrames(c)
        #expect(frames[0].toArray() == z[0].toArray())
        #expect(frames[4].toArray() == z[1].toArray())
        for t in 1...3 { #expect(frames[t].toArray().allSatisfy { $0 == 0 }) }
        #expect(try keyframeLatents(concat: c).toArray() == z.toArray())
        #expect(try videoLatents(frames).toArray() == c.toArray())
        #expect(throws: ModelInputError.self) { try interpolationConcat(keyframes: z, frames: 1) }
        #expect(throws: ModelInputError.self) { try interpolationConcat(keyframes: z[0], frames: 4) }
    }

    @Test func endToEndOnAnyImageSize() throws {
        let model = try PipelineModels.toy()
        var pipeline = InterpolationPipeline(model: model)
        pipeline.sampling.steps = 2
        func run() throws -> Tensor {
            try pipeline.run(first: PipelineModels.image(30, 17), last: PipelineModels.image(9, 40, phase: 90), prompt: "a ball",
                             posteriorNoise: SeededGaussianNoise(seed: 1), noise: SeededGaussianNoise(seed: 2))
        }
        var stages: [InterpolationPipeline.Stage] = []
        var progress: [Int] = []
        let video = try pipeline.run(first: PipelineModels.image(30, 17), last: PipelineModels.image(9, 40, phase: 90), prompt: "a ball",
                                     posteriorNoise: SeededGaussianNoise(seed: 1), noise: SeededGaussianNoise(seed: 2),
                                     observer: SamplingObserver(progress: { d, _ in progress.append(d) }),
                                     stageFinished: { stages.append($0) })
        #expect(video.shape == [4, 3, 16, 32])
        #expect(video.toArray().allSatisfy { $0.isFinite })
        #expect(stages == [.conditioning, .denoising, .decoding])
        #expect(progress == [1, 2])
        #expect(try run().toArray() == video.toArray(), "same seeds, same frames")
        #expect(model.cachedUnconditionalContext != nil)
        let bytes = try framesToBytes(video)
        #expect(bytes.shape == [4, 16, 32, 3])
        let image = try imageFrames(video)
        #expect(image.shape == [4, 16, 32, 3] && image.toArray().allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    /// Spec §1.8: the cached unconditional context is the one computed from scratch.
    @Test func unconditionalContextIsCachedPerModel() throws {
        let model = try PipelineModels.toy()
        let encoder = ConditioningEncoder(model: model)
        let a = try preprocessKeyframe(PipelineModels.image(16, 32), height: 16, width: 32, fit: .crop)
        let first = try encoder.encode(first: a, last: a, prompt: "x", posteriorNoise: SeededGaussianNoise(seed: 1))
        let cached = try #require(model.cachedUnconditionalContext)
        #expect(cached.toArray() == first.unconditionalContext.toArray())
        let second = try encoder.encode(first: a, last: a, prompt: "y", posteriorNoise: SeededGaussianNoise(seed: 1))
        #expect(second.unconditionalContext.toArray() == first.unconditionalContext.toArray())
        #expect(second.context.toArray() != first.context.toArray())
        #expect(first.context.shape == [1, 77 + 64, 16])
        #expect(first.keyframeLatents.shape == [2, 4, 8, 16])
        #expect(first.references.features.map(\.shape) == [[2, 32, 16, 32], [2, 32, 8, 16], [2, 32, 16, 32]])
        #expect(throws: ModelInputError.self) {
            try encoder.encode(first: a, last: a.sliced(axis: 2, 0..<16).contiguous(), prompt: "", posteriorNoise: SeededGaussianNoise(seed: 1))
        }
    }

    /// Other frame counts, DPM-Solver++ and no re-decode run; the re-decode changes only the two
    /// middle frames (spec Q5); batched and separate guidance branches agree to rounding.
    @Test func options() throws {
        let model = try PipelineModels.toy()
        let a = try preprocessKeyframe(PipelineModels.image(16, 32), height: 16, width: 32, fit: .crop)
        let b = try preprocessKeyframe(PipelineModels.image(16, 32, phase: 60), height: 16, width: 32, fit: .crop)
        let cond = try ConditioningEncoder(model: model).encode(first: a, last: b, prompt: "", posteriorNoise: SeededGaussianNoise(seed: 1))
        let (schedule, _) = try model.schedule()
        let unet = try model.unet()
        func sample(_ s: InterpolationSampling, frames: Int) throws -> Tensor {
            try s.sample(unet: unet, schedule: schedule, context: cond.context, unconditionalContext: cond.unconditionalContext,
                         concat: cond.concat(frames: frames), noise: SeededGaussianNoise(seed: 5))
        }
        var s = InterpolationSampling(model.config.sampler)
        s.steps = 2
        let batched = try sample(s, frames: 4)
        s.batchedBranches = false
        #expect(largestDifference(try sample(s, frames: 4), batched) < 1e-4)
        #expect(try sample(s, frames: 6).shape == [1, 4, 6, 8, 16])
        s.solver = .dpmpp2m
        #expect(try sample(s, frames: 4).toArray().allSatisfy { $0.isFinite })

        let latents = try latentFrames(batched)
        let on = try InterpolationDecoding().decode(latents, references: cond.references, model: model)
        let off = try InterpolationDecoding(redecodeMiddleFrames: false).decode(latents, references: cond.references, model: model)
        for t in 0..<4 {
            let same = on[t].toArray() == off[t].toArray()
            #expect(same == !(t == 1 || t == 2), "frame \(t)")
        }
    }
}
