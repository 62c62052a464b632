import TCCore

/// open_clip's `vision_cfg` as ToonCrafter uses it (spec §2.5); defaults are ViT-H/14's.
public struct OpenCLIPVisionConfig: Sendable, Equatable {
    public var imageSize = 224
    public var patchSize = 14
    public var width = 1280
    public var layers = 32
    public var headWidth = 80
    public var mlpRatio = 4

    public static let vitH14 = OpenCLIPVisionConfig()
    public init() {}

    public var heads: Int { width / headWidth }
    public var grid: Int { imageSize / patchSize }
    public var tokens: Int { grid * grid + 1 }

    /// From a config holding `open_clip_arch` + `img_cond_stage_config` (a parity fixture's), from
    /// an open_clip model config (`vision_cfg`), or from `vision_cfg` itself; absent means ViT-H-14.
    public init(_ c: ConfigDict) throws {
        self.init()
        guard let v = try openCLIPSection(c, stage: "img_cond_stage_config", section: "vision_cfg") else { return }
        imageSize = try v.int("image_size", default: imageSize)
        patchSize = try v.int("patch_size", default: patchSize)
        width = try v.int("width", default: width)
        layers = try v.int("layers", default: layers)
        headWidth = try v.int("head_width", default: headWidth)
        mlpRatio = try v.int("mlp_ratio", default: mlpRatio)
        guard width % headWidth == 0, imageSize % patchSize == 0 else {
            throw ConfigError.invalid(path: v.path, reason: "width \(width) / head_width \(headWidth) or image \(imageSize) / patch \(patchSize) do not divide")
        }
    }
}

/// open_clip's `text_cfg` (spec §2.4) and which layer the conditioning reads; defaults are ViT-H-14
/// with the penultimate layer.
public struct OpenCLIPTextConfig: Sendable, Equatable {
    public var contextLength = 77
    public var vocabSize = 49408
    public var width = 1024
    public var heads = 16
    public var layers = 24
    public var mlpRatio = 4
    /// "penultimate" runs all blocks but the last (ToonCrafter), "last" runs all.
    public var layer = "penultimate"

    public static let vitH14 = OpenCLIPTextConfig()
    public init() {}

    /// Blocks actually run.
    public var usedLayers: Int { layer == "last" ? layers : layers - 1 }

    public init(_ c: ConfigDict) throws {
        self.init()
        if c.has("cond_stage_config") {
            let p = try c.dict("cond_stage_config")
            layer = try (p.has("params") ? try p.dict("params") : p).string("layer", default: layer)
        }
        guard layer == "penultimate" || layer == "last" else {
            throw ConfigError.invalid(path: "\(c.path).cond_stage_config.params.layer", reason: "'\(layer)' is not penultimate or last")
        }
        guard let t = try openCLIPSection(c, stage: "cond_stage_config", section: "text_cfg") else { return }
        contextLength = try t.int("context_length", default: contextLength)
        vocabSize = try t.int("vocab_size", default: vocabSize)
        width = try t.int("width", default: width)
        heads = try t.int("heads", default: heads)
        layers = try t.int("layers", default: layers)
        mlpRatio = try t.int("mlp_ratio", default: mlpRatio)
        guard width % heads == 0, usedLayers >= 0 else {
            throw ConfigError.invalid(path: t.path, reason: "width \(width) not divisible by \(heads) heads, or no layers")
        }
    }
}

/// Finds `section` (vision_cfg/text_cfg): under `open_clip_arch[arch]` with arch named by the
/// stage's params, under an open_clip model config, or at the top level. Nil: ViT-H-14 defaults.
private func openCLIPSection(_ c: ConfigDict, stage: String, section: String) throws -> ConfigDict? {
    if c.has(section) { return try c.dict(section) }
    guard c.has("open_clip_arch") else { return nil }
    let archs = try c.dict("open_clip_arch")
    var arch = "ViT-H-14"
    if c.has(stage) {
        let s = try c.dict(stage)
        arch = try (s.has("params") ? try s.dict("params") : s).string("arch", default: arch)
    }
    guard archs.has(arch) else {
        if arch == "ViT-H-14" { return nil }
        throw ConfigError.missing(path: "\(archs.path).\(arch)", expected: "the open_clip model config of '\(arch)'")
    }
    return try archs.dict(arch).dict(section)
}
