import Foundation
import Testing
import TCCore
import TCModels

/// `ToonCrafterConfig`: the real model's defaults (spec §1.1, §2) and the fixture / `tcgraph_model`
/// structure, with precise errors.
@Suite struct PipelineConfigTests {
    @Test func realModelDefaults() throws {
        let c = ToonCrafterConfig.inference512
        #expect((c.height, c.width, c.frames) == (320, 512, 16))
        #expect(c.unet.modelChannels == 320 && c.unet.channelMult == [1, 2, 4, 4] && c.unet.contextDim == 1024)
        #expect(c.unet.temporalLength == 16 && c.unet.fsCondition && c.unet.imageCrossAttention && c.unet.additionAttention)
        #expect(c.vae.ch == 128 && c.vae.chMult == [1, 2, 4, 4] && c.vae.scaleFactor == 0.18215)
        #expect(c.vision.width == 1280 && c.vision.layers == 32 && c.vision.tokens == 257)
        #expect(c.text.width == 1024 && c.text.layers == 24 && c.text.layer == "penultimate")
        #expect(c.resampler.embeddingDim == 1280 && c.resampler.outputDim == 1024 && c.resampler.latentCount == 256)
        #expect(c.schedule.zeroTerminalSNR && c.schedule.dynamicRescale && c.schedule.linearStart == 0.00085)
        #expect(c.sampler.steps == 50 && c.sampler.eta == 1 && c.sampler.guidanceScale == 7.5)
        #expect(c.sampler.guidanceRescale == 0.7 && c.sampler.spacing == .uniformTrailing && c.sampler.fs == 10)
        // Latent 1/8 of the pixels, and the UNet's three halvings: pixels must divide by 64 (Q25).
        #expect(c.latentFactor == 8 && c.sizeMultiple == 64)
        #expect(throws: ModelInputError.self) { try c.checkFrameSize(height: 320, width: 500, argument: "size") }
    }

    /// The structure of a fixture's `config` and of a small model's `tcgraph_model` metadata.
    @Test func fixtureStructure() throws {
        let c = try PipelineModels.toyConfig
        #expect((c.height, c.width, c.frames) == (16, 32, 4))
        #expect(c.unet.modelChannels == 32 && c.unet.channelMult == [1, 1] && c.unet.numHeadChannels == 16)
        #expect(c.unet.contextDim == 16 && c.unet.temporalLength == 4)
        #expect(c.vae.ch == 32 && c.vae.chMult == [1, 1] && c.vae.numResBlocks == 1)
        #expect(c.vision.width == 32 && c.vision.layers == 1 && c.vision.headWidth == 16)
        #expect(c.text.width == 16 && c.text.heads == 2 && c.text.layers == 2)
        #expect(c.resampler.dim == 32 && c.resampler.depth == 1 && c.resampler.videoLength == 4)
        #expect(c.sampler.steps == 3 && c.sampler.prompt == "")
        #expect(c.latentFactor == 2 && c.sizeMultiple == 4)
    }

    /// The official yaml's layout: `model: {target, params}`; the pixel size from the latent size.
    @Test func officialYamlLayout() throws {
        var dict = try ConfigDict(json: PipelineModels.toyConfigJSON).values
        dict["model"] = dict.removeValue(forKey: "model_config")
        dict.removeValue(forKey: "H")
        dict.removeValue(forKey: "W")
        let c = try ToonCrafterConfig(ConfigDict(dict))
        #expect((c.height, c.width) == (16, 32))
    }

    @Test(.enabled(if: ParityFixtures.available("pipeline_tiny"), ParityFixtures.missingReason))
    func pipelineTinyConfig() throws {
        let c = try ToonCrafterConfig(try ParityFixtures.open("pipeline_tiny").config)
        #expect((c.height, c.width, c.frames) == (64, 128, 8))
        #expect(c.vision.width == 32 && c.text.width == 16 && c.resampler.videoLength == 8 && c.sampler.steps == 5)
    }

    @Test func errorsNameTheEntry() throws {
        func parse(_ edit: (inout [String: Any]) -> Void) throws -> ToonCrafterConfig {
            var d = try ConfigDict(json: PipelineModels.toyConfigJSON).values
            edit(&d)
            return try ToonCrafterConfig(ConfigDict(d, path: "toy.json"))
        }
        func params(_ d: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
            var m = d["model_config"] as! [String: Any]
            var p = m["params"] as! [String: Any]
            edit(&p)
            m["params"] = p
            d["model_config"] = m
        }
        do {
            _ = try parse { d in params(&d) { $0.removeValue(forKey: "unet_config") } }
            Issue.record("a config without unet_config accepted")
        } catch {
            #expect("\(error)" == "toy.json.model_config.params.unet_config: missing (expected an object)")
        }
        #expect(throws: ConfigError.self) {
            try parse { d in
                var m = d["model_config"] as! [String: Any]
                m["target"] = "lvdm.models.ddpm3d.LatentDiffusion"
                d["model_config"] = m
            }
        }
        do {
            _ = try parse { d in
                var arch = d["open_clip_arch"] as! [String: Any]
                var toy = arch["toy"] as! [String: Any]
                toy["text_cfg"] = ["context_length": 77, "vocab_size": 49408, "width": 24, "heads": 2, "layers": 2]
                arch["toy"] = toy
                d["open_clip_arch"] = arch
            }
            Issue.record("inconsistent widths accepted")
        } catch {
            #expect("\(error)".contains("text tower's width 24 differs from the UNet's context_dim 16"), "\(error)")
        }
        do {
            _ = try parse { $0["W"] = 30 }
            Issue.record("a width that is not a multiple of 4 accepted")
        } catch {
            #expect("\(error)".contains("must be a positive multiple of 4"), "\(error)")
        }
    }

    /// A model file names its config: `tcgraph_model` metadata, a fixture's `config`, else the real model.
    @Test func configFromFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tcgraph-pipeline-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let entry = SafeTensorsEntry(key: "betas", dtype: .f32, shape: [2]) { Tensor([0.1, 0.2], [2]) }
        let small = dir.appendingPathComponent("small.safetensors").path
        _ = try writeSafeTensors([entry], to: small, metadata: ["tcgraph_model": PipelineModels.toyConfigJSON])
        let d = try ModelFiles.describe(small)
        let toy = try PipelineModels.toyConfig
        #expect(d.name == "toy" && d.config == toy && !d.isParityFixture)
        let plain = dir.appendingPathComponent("plain.safetensors").path
        _ = try writeSafeTensors([entry], to: plain)
        #expect(try ModelFiles.describe(plain).config == .inference512)
        #expect(throws: WeightError.self) { try ModelFiles.describe(dir.appendingPathComponent("none.ckpt").path) }
        if ParityFixtures.available("pipeline_tiny") {
            let path = ParityFixtures.directory! + "/pipeline_tiny.safetensors"
            let f = try ModelFiles.describe(path)
            #expect(f.config.frames == 8 && f.name.hasPrefix("pipeline_tiny") && f.isParityFixture)
            // Opened as a model, its inputs and expected outputs are not taken for weights.
            #expect(try ModelFiles.open(path).strayKeys == [])
        }
    }
}
