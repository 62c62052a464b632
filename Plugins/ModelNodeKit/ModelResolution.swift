import Foundation
import TCCore
import TCModels
import TCPluginKit

/// The `model` parameter of the model nodes, resolved through the host's weight store
/// (`--models DIR`, $TCGRAPH_MODELS, ~/.cache/tcgraph/models) so every node of a run shares one
/// mmapped file.
public enum ModelChoice: Equatable {
    /// The real ToonCrafter files when installed, else the small model bundled with tcgraph.
    case auto
    /// The real ToonCrafter files only.
    case toonCrafter
    /// The bundled small model only.
    case bundled
    /// A model file: a name in the model folders, or a path.
    case file(String)

    public init(_ text: String) {
        switch text {
        case "", "auto": self = .auto
        case "tooncrafter": self = .toonCrafter
        case "tiny", "tcgraph-tiny": self = .bundled
        default: self = .file(text)
        }
    }

    public static let doc = "auto (the real ToonCrafter model if installed, else the bundled small model), tooncrafter, tiny, or a model file (a name in the model folders or a path)"
}

/// A model opened for a node.
public struct OpenedModel {
    public let model: ToonCrafterModel
    /// The main file, as the host found it (absolute when it came from a folder).
    public let path: String
    /// Every file the model's tensors come from (the main file, and open_clip's when it completes it).
    public let files: [String]
    public let isBundled: Bool
}

public enum ModelResolution {
    /// Opens the model `choice` names. `withCLIP`: the node runs the CLIP towers, so a file without
    /// them (the pruned community checkpoint) is completed with open_clip's own weights.
    /// Without any usable file this stops before any compute with the host's message: the files
    /// looked for, the folders searched, and where to get the model.
    public static func open(_ ctx: NodeContext, _ choice: ModelChoice, withCLIP: Bool) throws -> OpenedModel {
        let bundled = ModelFiles.bundledPath
        let candidates: [String]
        var whereToGet = ModelFiles.toonCrafterSource
        switch choice {
        case .auto:
            candidates = ModelFiles.toonCrafterNames + (bundled.map { [$0] } ?? [])
            if bundled == nil { whereToGet += "; the bundled small model (\(ModelFiles.bundledRelativePath)) is not in this build either" }
        case .toonCrafter:
            candidates = ModelFiles.toonCrafterNames
        case .bundled:
            guard let bundled else {
                throw NodeError("the bundled small model \(ModelFiles.bundledRelativePath) is not in this checkout (\(FileManager.default.currentDirectoryPath)); use model: tooncrafter or a model file")
            }
            candidates = [bundled]
        case let .file(name):
            let absolute = URL(fileURLWithPath: name).standardizedFileURL.path
            candidates = name.hasPrefix("/") ? [name] : [name, absolute]
            whereToGet = "the path in the graph's `model` parameter, or " + ModelFiles.toonCrafterSource
        }
        let weights = try ctx.weights(candidates, whereToGet: whereToGet)
        let path = weights.sourceName
        let description = try ModelFiles.describe(path)
        var source: TensorSource = weights
        var files = [path]
        if withCLIP {
            let probe = try ModelFiles.model(weights, description)
            if !probe.hasCLIPTowers {
                let clip = try ctx.weights(ModelFiles.openCLIPNames,
                                           whereToGet: "\(ModelFiles.openCLIPSource), needed because \(path) has no CLIP towers (cond_stage_model.*, embedder.*)")
                source = ModelFiles.withOpenCLIP(weights, clip)
                files.append(clip.sourceName)
            }
        }
        let model = try ModelFiles.model(source, description)
        let isBundled = bundled.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path == URL(fileURLWithPath: path).resolvingSymlinksInPath().path } ?? false
        return OpenedModel(model: model, path: path, files: files, isBundled: isBundled)
    }

    /// The one-line notice when the bundled small model ran.
    public static func bundledNotice(_ m: OpenedModel) -> String {
        "model: \(m.model.name), the small demo model bundled with tcgraph (\(ModelFiles.bundledRelativePath)); for the full "
            + "ToonCrafter model put model.ckpt from https://huggingface.co/Doubiiu/ToonCrafter into ~/.cache/tcgraph/models "
            + "(or --models DIR), or set the node's model parameter to its path"
    }

    /// Logs the checkpoint's schedule warnings and tensors outside every component, once per node.
    public static func logWarnings(_ ctx: NodeContext, _ m: ToonCrafterModel, schedule warnings: [String] = []) {
        for w in warnings { ctx.log(w, level: .warning) }
        if !m.strayKeys.isEmpty {
            ctx.log("\(m.source.sourceName): \(m.strayKeys.count) tensors belong to no component and are ignored: "
                    + m.strayKeys.prefix(5).joined(separator: ", ") + (m.strayKeys.count > 5 ? ", …" : ""), level: .warning)
        }
    }
}
