import Foundation
import TCCore
import TCModels

/// Models and sources for the pipeline tests.
enum PipelineModels {
    /// A complete ToonCrafter config at toy sizes, in the structure of a fixture's `config` (and of
    /// a small model's `tcgraph_model` metadata): every switch of the real model, 4 frames of 16×32.
    static let toyConfigJSON = """
        {"name": "toy", "description": "test model",
         "model_config": {"target": "lvdm.models.ddpm3d.LatentVisualDiffusion", "params": {
           "rescale_betas_zero_snr": true, "parameterization": "v", "linear_start": 0.00085, "linear_end": 0.012,
           "timesteps": 1000, "conditioning_key": "hybrid", "image_size": [8, 16], "channels": 4, "scale_factor": 0.18215,
           "uncond_type": "empty_seq", "use_dynamic_rescale": true, "base_scale": 0.7, "perframe_ae": true,
           "unet_config": {"target": "lvdm.modules.networks.openaimodel3d.UNetModel", "params": {
             "in_channels": 8, "out_channels": 4, "model_channels": 32, "attention_resolutions": [2, 1], "num_res_blocks": 1,
             "channel_mult": [1, 1], "num_head_channels": 16, "transformer_depth": 1, "context_dim": 16, "use_linear": true,
             "temporal_conv": true, "temporal_attention": true, "temporal_selfatt_only": true, "use_relative_position": false,
             "use_causal_attention": false, "temporal_length": 4, "addition_attention": true, "image_cross_attention": true,
             "default_fs": 24, "fs_condition": true}},
           "first_stage_config": {"target": "lvdm.models.autoencoder.AutoencoderKL_Dualref", "params": {
             "embed_dim": 4, "ddconfig": {"double_z": true, "z_channels": 4, "resolution": 256, "in_channels": 3, "out_ch": 3,
             "ch": 32, "ch_mult": [1, 1], "num_res_blocks": 1, "attn_resolutions": [], "dropout": 0.0}}},
           "cond_stage_config": {"target": "lvdm.modules.encoders.condition.FrozenOpenCLIPEmbedder",
             "params": {"freeze": true, "layer": "penultimate", "arch": "toy"}},
           "img_cond_stage_config": {"target": "lvdm.modules.encoders.condition.FrozenOpenCLIPImageEmbedderV2",
             "params": {"freeze": true, "arch": "toy"}},
           "image_proj_stage_config": {"target": "lvdm.modules.encoders.resampler.Resampler", "params": {
             "dim": 32, "depth": 1, "dim_head": 8, "heads": 2, "num_queries": 16, "embedding_dim": 32, "output_dim": 16,
             "ff_mult": 4, "video_length": 4}}}},
         "open_clip_arch": {"toy": {"embed_dim": 16,
           "vision_cfg": {"image_size": 224, "layers": 1, "width": 32, "head_width": 16, "patch_size": 14},
           "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 2}}},
         "H": 16, "W": 32, "T": 4, "ddim_steps": 3, "ddim_eta": 1.0, "unconditional_guidance_scale": 7.5,
         "guidance_rescale": 0.7, "timestep_spacing": "uniform_trailing", "frame_stride": 10, "prompt": ""}
        """

    static var toyConfig: ToonCrafterConfig {
        get throws { try ToonCrafterConfig(ConfigDict(json: toyConfigJSON)) }
    }

    /// The toy model with deterministic random weights (no file needed).
    static func toy(seed: UInt64 = 1) throws -> ToonCrafterModel {
        try ToonCrafterModel(source: SyntheticWeights(seed: seed), config: toyConfig, name: "toy")
    }

    /// pipeline_tiny's complete random-weight model (nil without ../shared).
    static func pipelineTiny() throws -> (ParityFixture, ToonCrafterModel)? {
        guard ParityFixtures.available("pipeline_tiny") else { return nil }
        let f = try ParityFixtures.open("pipeline_tiny")
        return (f, try ToonCrafterModel(source: f.file, config: ToonCrafterConfig(f.config), name: "pipeline_tiny"))
    }

    /// A uint8 RGB test image (h, w, 3) with a smooth pattern.
    static func image(_ h: Int, _ w: Int, phase: Int = 0) -> Tensor {
        let t = Tensor(empty: [h, w, 3], dtype: .u8)
        let p = t.typedPointer(UInt8.self)
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<3 { p[(y * w + x) * 3 + c] = UInt8((x * 7 + y * 13 + c * 50 + phase) % 256) }
            }
        }
        return t
    }
}

/// A source seen with some keys removed, some added and some replaced (strict-loading tests).
final class EditedSource: TensorSource {
    let base: TensorSource
    let removed: (String) -> Bool
    let extra: [String: Tensor]
    let allKeys: [String]

    init(_ base: TensorSource, removing removed: @escaping (String) -> Bool = { _ in false }, adding extra: [String: Tensor] = [:]) {
        self.base = base
        self.removed = removed
        self.extra = extra
        allKeys = base.allKeys.filter { !removed($0) && extra[$0] == nil } + extra.keys.sorted()
    }

    var sourceName: String { "edited.safetensors" }
    func contains(_ key: String) -> Bool { extra[key] != nil || (!removed(key) && base.contains(key)) }

    func tensor(_ key: String) throws -> Tensor {
        if let t = extra[key] { return t }
        guard contains(key) else { throw WeightError.missingKey(file: sourceName, key: key) }
        return try base.tensor(key)
    }
}

/// Another source's keys renamed: `map` returns the new name, or nil to leave the key out.
final class MappedSource: TensorSource {
    let base: TensorSource
    private var original: [String: String] = [:]
    let allKeys: [String]

    init(_ base: TensorSource, _ map: (String) -> String?) {
        self.base = base
        var keys: [String] = []
        for k in base.allKeys {
            if let n = map(k) {
                original[n] = k
                keys.append(n)
            }
        }
        allKeys = keys
    }

    var sourceName: String { "mapped.safetensors" }
    func contains(_ key: String) -> Bool { original[key] != nil }

    func tensor(_ key: String) throws -> Tensor {
        guard let k = original[key] else { throw WeightError.missingKey(file: sourceName, key: key) }
        return try base.tensor(k)
    }
}

func largestDifference(_ a: Tensor, _ b: Tensor) -> Float {
    zip(a.toArray(), b.toArray()).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
