import TCCore

extension SketchControlNet {
    /// The released file names: the official fp32 PyTorch checkpoint (HF Doubiiu/ToonCrafter) and
    /// Kijai's fp16 safetensors (HF Kijai/DynamiCrafter_pruned); both hold the bare keys.
    public static let releasedFiles = ["sketch_encoder.ckpt", "sketch_encoder-fp16.safetensors", "sketch_encoder.safetensors"]

    /// Loads strictly, as the reference loaders do (`strict=True`): the file must hold exactly the
    /// tensors `config` implies, under the bare keys (`openWeightFile` has already unwrapped a
    /// `state_dict` entry). Every missing, unexpected or wrongly shaped tensor is listed in one
    /// error. Weights stay in their stored dtype (fp16 files are converted per layer).
    /// `SyntheticWeights` yield a network of the config's size without a checkpoint.
    public static func load(_ source: TensorSource, config: ControlNetConfig = ControlNetConfig()) throws -> SketchControlNet {
        let audit = LayoutAudit(source)
        let net = try SketchControlNet(WeightReader(audit), config: config)
        guard audit.isClean else {
            throw SketchError.layoutMismatch(source: source.sourceName, model: "sketch ControlNet \(config)",
                                             missing: audit.missing, unexpected: audit.unexpected,
                                             wrongShapes: audit.wrongShapes)
        }
        return net
    }

    /// `load` from a file: a PyTorch zip checkpoint (`sketch_encoder.ckpt`) or safetensors.
    public static func load(path: String, config: ControlNetConfig = ControlNetConfig()) throws -> SketchControlNet {
        try load(try openWeightFile(path), config: config)
    }

    /// Every tensor a checkpoint for `config` holds, with its shape, in module order
    /// (340 tensors and 364,227,952 parameters for the released sketch encoder).
    public static func expectedLayout(_ config: ControlNetConfig = ControlNetConfig()) throws -> [(key: String, shape: [Int])] {
        let audit = LayoutAudit(nil)
        _ = try SketchControlNet(WeightReader(audit), config: config)
        return audit.requested
    }
}
