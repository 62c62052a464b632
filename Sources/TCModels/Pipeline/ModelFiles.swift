import Foundation
import TCCore

/// The model files tcgraph knows (DESIGN §5): their names in the model folders, where to get them,
/// the small model bundled with the repository, and how a file says which config it was built with.
public enum ModelFiles {
    /// The real ToonCrafter 512 interpolation model, in the order they are preferred: the official
    /// Lightning checkpoint (HF Doubiiu/ToonCrafter, also in the folder layout of its README), a
    /// safetensors conversion of it (`tcgraph weights convert`), and the community fp16 file
    /// without the CLIP towers.
    public static let toonCrafterNames = [
        "model.ckpt",
        "tooncrafter_512_interp_v1/model.ckpt",
        "tooncrafter_512_interp.safetensors",
        "tooncrafter_512_interp-pruned-fp16.safetensors",
    ]
    public static let toonCrafterSource = "https://huggingface.co/Doubiiu/ToonCrafter (model.ckpt)"

    /// open_clip's own ViT-H/14 weights, for files without `cond_stage_model.*`/`embedder.*`.
    public static let openCLIPNames = [
        "open_clip_pytorch_model.bin",
        "open_clip_model.safetensors",
        "CLIP-ViT-H-14-laion2B-s32B-b79K/open_clip_pytorch_model.bin",
        "CLIP-ViT-H-14-laion2B-s32B-b79K/open_clip_model.safetensors",
    ]
    public static let openCLIPSource = "https://huggingface.co/laion/CLIP-ViT-H-14-laion2B-s32B-b79K (open_clip_pytorch_model.bin)"

    /// The small model of the same architecture trained by tools/train (issue 6), relative to the
    /// repository root.
    public static let bundledRelativePath = "models/tcgraph-tiny/tcgraph-tiny.safetensors"

    /// The bundled model's absolute path: in the source tree this build came from, else under the
    /// working directory. Nil when neither exists.
    public static var bundledPath: String? {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        return [repo, cwd].map { $0.appendingPathComponent(bundledRelativePath).path }
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    /// What a model file says about itself: the `tcgraph_model` entry of a safetensors file's
    /// metadata (small models), the `config` of a parity fixture (a complete random-weight model),
    /// otherwise nothing, which means the real model (`model.ckpt` carries no config).
    public struct Description: Sendable {
        public let config: ToonCrafterConfig
        public let name: String
        /// A parity fixture: its `input.*`, `output.*` and `aux.*` tensors are not weights.
        public let isParityFixture: Bool
    }

    public static func describe(_ path: String) throws -> Description {
        let meta = try safeTensorsMetadata(path)
        let file = URL(fileURLWithPath: path).lastPathComponent
        if let json = meta["tcgraph_model"] {
            let c = try ConfigDict(json: json, path: "\(file):tcgraph_model")
            return Description(config: try ToonCrafterConfig(c), name: try c.string("name", default: file), isParityFixture: false)
        }
        if let json = meta["fixture"] {
            let f = try ConfigDict(json: json, path: "\(file):fixture")
            return Description(config: try ToonCrafterConfig(try f.dict("config")),
                               name: "\(try f.string("fixture", default: file)) (parity fixture)", isParityFixture: true)
        }
        return Description(config: .inference512, name: "ToonCrafter 512 (\(file))", isParityFixture: false)
    }

    /// The model in `source`, opened from the file `description` describes.
    public static func model(_ source: TensorSource, _ d: Description) throws -> ToonCrafterModel {
        let weights = d.isParityFixture
            ? KeyFilteredSource(source) { !($0.hasPrefix("input.") || $0.hasPrefix("output.") || $0.hasPrefix("aux.")) }
            : source
        return try ToonCrafterModel(source: weights, config: d.config, name: d.name)
    }

    /// Opens a model from files, without the graph host (parity runs, tools, tests): `path` holds
    /// the model; `openCLIP`, when given, supplies the CLIP towers the model file lacks.
    public static func open(_ path: String, openCLIP: String? = nil) throws -> ToonCrafterModel {
        var source = try openWeightFile(path)
        if let openCLIP { source = withOpenCLIP(source, try openWeightFile(openCLIP)) }
        return try model(source, try describe(path))
    }

    /// `model` with its CLIP towers taken from open_clip's own state dict (keys without prefix):
    /// the text tower at `cond_stage_model.model.`, the image tower at `embedder.model.visual.`.
    public static func withOpenCLIP(_ model: TensorSource, _ openCLIP: TensorSource) -> TensorSource {
        let text = KeyFilteredSource(openCLIP) { !$0.hasPrefix("visual.") }
        return CompositeTensorSource([
            .init(prefix: "", source: model),
            .init(prefix: "cond_stage_model.model.", source: text),
            .init(prefix: "embedder.model.visual.", source: openCLIP, sourcePrefix: "visual."),
        ])
    }

    /// The `__metadata__` of a safetensors file (empty for other formats), read from its header
    /// alone.
    static func safeTensorsMetadata(_ path: String) throws -> [String: String] {
        guard let h = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw WeightError.cannotOpen(file: path, reason: reason)
        }
        defer { try? h.close() }
        let head = [UInt8]((try? h.read(upToCount: 8)) ?? Data())
        guard head.count == 8 else { return [:] }
        let length = head.reversed().reduce(0) { $0 << 8 | Int($1) }
        guard length > 1, length < 100 << 20, let header = try? h.read(upToCount: length), header.first == UInt8(ascii: "{"),
              let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else { return [:] }
        return (json["__metadata__"] as? [String: Any])?.compactMapValues { $0 as? String } ?? [:]
    }
}

/// The keys of another source that pass a filter.
final class KeyFilteredSource: TensorSource {
    let base: TensorSource
    let allKeys: [String]
    private let keySet: Set<String>

    init(_ base: TensorSource, where keep: (String) -> Bool) {
        self.base = base
        allKeys = base.allKeys.filter(keep)
        keySet = Set(allKeys)
    }

    var sourceName: String { base.sourceName }
    func contains(_ key: String) -> Bool { keySet.contains(key) }

    func tensor(_ key: String) throws -> Tensor {
        guard keySet.contains(key) else { throw WeightError.missingKey(file: base.sourceName, key: key) }
        return try base.tensor(key)
    }
}
