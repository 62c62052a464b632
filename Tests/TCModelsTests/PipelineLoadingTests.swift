import Foundation
import Testing
import TCCore
import TCModels

/// Strict loading per component (spec §3): missing, unexpected and mis-shaped tensors are listed
/// with the file; components load independently; the CLIP towers can come from open_clip's file.
@Suite struct PipelineLoadingTests {
    static let available = ParityFixtures.available("pipeline_tiny")

    @Test(.enabled(if: available, ParityFixtures.missingReason))
    func missingTensorsAreAllListed() throws {
        let (f, model) = try PipelineModels.pipelineTiny()!
        let gone = ["model.diffusion_model.out.2.weight", "model.diffusion_model.input_blocks.1.0.in_layers.0.bias"]
        let broken = try ToonCrafterModel(source: EditedSource(f.file, removing: { gone.contains($0) }), config: model.config)
        #expect(throws: ModelLoadError(component: "UNet (model.diffusion_model)", file: "edited.safetensors",
                                       missing: gone.sorted(), unexpected: [], shapes: [])) { try broken.unet() }
        // The other components do not care.
        _ = try broken.decoder()
        _ = try broken.resampler()
    }

    @Test(.enabled(if: available, ParityFixtures.missingReason))
    func unexpectedAndMisshapedTensors() throws {
        let (f, model) = try PipelineModels.pipelineTiny()!
        let extra = try ToonCrafterModel(source: EditedSource(f.file, adding: ["image_proj_model.layers.9.norm1.weight": Tensor(zeros: [32])]),
                                         config: model.config)
        #expect(throws: ModelLoadError(component: "Resampler (image_proj_model)", file: "edited.safetensors", missing: [],
                                       unexpected: ["image_proj_model.layers.9.norm1.weight"], shapes: [])) { try extra.resampler() }

        let key = "first_stage_model.decoder.conv_in.weight"
        let stored = try f.file.tensor(key)
        let wrong = try ToonCrafterModel(source: EditedSource(f.file, adding: [key: Tensor(zeros: [stored.dim(0), 8, 3, 3])]),
                                         config: model.config)
        do {
            _ = try wrong.decoder()
            Issue.record("a mis-shaped tensor loaded")
        } catch let e as ModelLoadError {
            #expect(e.shapes == [.init(key: key, expected: stored.shape, got: [stored.dim(0), 8, 3, 3])])
            #expect(e.description.hasPrefix("edited.safetensors: cannot load the dual-reference decoder"), "\(e)")
        }
    }

    /// Keys outside every component are reported, not loaded; a file without a component says so.
    @Test(.enabled(if: available, ParityFixtures.missingReason))
    func strayKeysAndAbsentComponents() throws {
        let (f, model) = try PipelineModels.pipelineTiny()!
        let weights = EditedSource(f.file, removing: { $0.hasPrefix("input.") || $0.hasPrefix("output.") })
        #expect(try ToonCrafterModel(source: weights, config: model.config).strayKeys == [])
        let stray = try ToonCrafterModel(source: EditedSource(weights, adding: ["model_ema.decay": Tensor(zeros: [1])]), config: model.config)
        #expect(stray.strayKeys == ["model_ema.decay"])

        let pruned = try ToonCrafterModel(source: EditedSource(f.file, removing: { $0.hasPrefix("cond_stage_model.") || $0.hasPrefix("embedder.") }),
                                          config: model.config)
        #expect(!pruned.hasCLIPTowers && model.hasCLIPTowers)
        do {
            _ = try pruned.textTower()
            Issue.record("a file without the text tower loaded it")
        } catch let e as ModelFileError {
            #expect("\(e)".contains("has no CLIP text tower (cond_stage_model)"), "\(e)")
            #expect("\(e)".contains(ModelFiles.openCLIPNames[0]), "\(e)")
        }
        _ = try pruned.unet()
    }

    /// DESIGN §5: a pruned file plus open_clip's own state dict (keys without prefix) gives the same
    /// towers as the full checkpoint.
    @Test(.enabled(if: available, ParityFixtures.missingReason))
    func openCLIPWeightsFillThePrunedFile() throws {
        let (f, model) = try PipelineModels.pipelineTiny()!
        let pruned = EditedSource(f.file, removing: { $0.hasPrefix("cond_stage_model.") || $0.hasPrefix("embedder.") })
        let openCLIP = MappedSource(f.file) { k in
            if k.hasPrefix("cond_stage_model.model.") { return String(k.dropFirst("cond_stage_model.model.".count)) }
            if k.hasPrefix("embedder.model.visual.") { return "visual." + k.dropFirst("embedder.model.visual.".count) }
            return nil
        }
        let assembled = try ToonCrafterModel(source: ModelFiles.withOpenCLIP(pruned, openCLIP), config: model.config)
        #expect(assembled.hasCLIPTowers)
        let tokens = try CLIPTokenizer().tokenize(["an anime scene"])
        #expect(try assembled.textTower()(tokens).toArray() == model.textTower()(tokens).toArray())
        let image = Tensor(repeating: 0.25, [1, 3, 224, 224])
        #expect(try assembled.visionTower()(image).toArray() == model.visionTower()(image).toArray())
    }

    /// The checkpoint's schedule buffers are used as stored and checked against the config (Q26).
    @Test(.enabled(if: available, ParityFixtures.missingReason))
    func scheduleBuffersAreAuthoritative() throws {
        let (f, model) = try PipelineModels.pipelineTiny()!
        let (schedule, warnings) = try model.schedule()
        #expect(warnings == [])
        #expect(schedule.alphasCumprod == (try f.file.tensor("alphas_cumprod")).toArray())
        var shifted = try f.file.tensor("alphas_cumprod").toArray()
        shifted[500] *= 1.01
        let edited = try ToonCrafterModel(source: EditedSource(f.file, adding: ["alphas_cumprod": Tensor(shifted, [shifted.count])]),
                                          config: model.config)
        let (s2, w2) = try edited.schedule()
        #expect(s2.alphasCumprod[500] == shifted[500])
        #expect(w2.count == 1 && w2[0].contains("alphas_cumprod"))
    }

    /// Synthetic weights build every component of the toy config without a file.
    @Test func componentsBuildFromTheConfig() throws {
        let model = try PipelineModels.toy()
        _ = try model.unet()
        _ = try model.encoder()
        _ = try model.decoder()
        _ = try model.textTower()
        _ = try model.visionTower()
        _ = try model.resampler()
    }
}
