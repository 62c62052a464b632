import Foundation
import TCCore

/// The sketch-model files tcgraph knows: the released sketch encoder, the small one bundled with
/// the repository, Anime2Sketch, and how a file says which ControlNet config it was built with.
public enum SketchModelFiles {
    /// The released sketch encoder, in the order preferred (all hold the bare keys).
    public static let controlNetNames = SketchControlNet.releasedFiles
    public static let controlNetSource =
        "https://huggingface.co/Doubiiu/ToonCrafter (sketch_encoder.ckpt) or https://huggingface.co/Kijai/DynamiCrafter_pruned (sketch_encoder-fp16.safetensors)"

    /// The small sketch ControlNet trained with the bundled model (tools/train), relative to the
    /// repository root.
    public static let bundledControlNet = "models/tcgraph-tiny/tcgraph-tiny-sketch.safetensors"

    /// ToonCrafter's `sketch_extractor.pth` is byte-identical to Anime2Sketch's `netG.pth`.
    public static let anime2SketchNames = ["sketch_extractor.pth", "netG.pth", "anime2sketch.safetensors"]
    public static let anime2SketchSource =
        "https://huggingface.co/Doubiiu/ToonCrafter (sketch_extractor.pth) or https://huggingface.co/lllyasviel/Annotators (netG.pth)"

    /// The bundled ControlNet's absolute path: in the source tree this build came from, else under
    /// the working directory; nil when neither has it.
    public static var bundledControlNetPath: String? {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        return [repo, cwd].map { $0.appendingPathComponent(bundledControlNet).path }
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The ControlNet config of a weight file: the `control_stage_config` inside the
    /// `tcgraph_model` entry of a safetensors file's metadata (small models), the `config` of a
    /// parity fixture, otherwise the released sketch encoder's (`sketch_encoder.ckpt` carries none).
    /// Also the control_scale the file recommends, when it names one.
    public static func controlNetConfig(forFile path: String) throws -> (config: ControlNetConfig, controlScale: Double?) {
        let name = URL(fileURLWithPath: path).lastPathComponent
        guard let file = try? SafeTensorsFile(path: path) else { return (ControlNetConfig(), nil) }
        if let json = file.metadata["tcgraph_model"] {
            let c = try ConfigDict(json: json, path: "\(name):tcgraph_model")
            return (try ControlNetConfig(c), c.has("control_scale") ? try c.double("control_scale") : nil)
        }
        if let json = file.metadata["fixture"] {
            return (try ControlNetConfig(try ConfigDict(json: json, path: "\(name):fixture").dict("config")), nil)
        }
        return (ControlNetConfig(), nil)
    }
}
