import Foundation
import Testing
import TCCore
import TCModels

/// Hands out zero tensors in the shapes of ../shared/parity/full_config_manifest.json, all viewing
/// one buffer, so the full-size UNet can be built without 5.7 GB of weights.
final class ManifestSource: TensorSource {
    let shapes: [String: [Int]]
    let buffer: TensorStorage
    var sourceName: String { "full_config_manifest.json" }
    var allKeys: [String] { shapes.keys.sorted() }

    init(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let keys = json["keys"] as! [String: [String: Any]]
        shapes = keys.mapValues { ($0["shape"] as! [Any]).map { ($0 as! NSNumber).intValue } }
        let largest = shapes.values.map { $0.reduce(1, *) }.max() ?? 1
        buffer = TensorStorage(byteCount: largest * 4)
        buffer.base.initializeMemory(as: UInt8.self, repeating: 0, count: largest * 4)
    }

    func contains(_ key: String) -> Bool { shapes[key] != nil }

    func tensor(_ key: String) throws -> Tensor {
        guard let s = shapes[key] else { throw WeightError.missingKey(file: sourceName, key: key) }
        return Tensor(storage: buffer, dtype: .f32, shape: s)
    }
}

@Suite struct UNetLayoutTests {
    static var manifestPath: String? {
        ParityFixtures.directory.map { "\($0)/full_config_manifest.json" }
            .flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
    }

    /// Spec §3.3: the UNet built from the real config declares exactly the checkpoint's
    /// `model.diffusion_model.*` keys with their shapes (every read states its expected shape).
    @Test(.enabled(if: manifestPath != nil, ParityFixtures.missingReason))
    func realConfigMatchesManifest() throws {
        let source = try ManifestSource(path: Self.manifestPath!)
        let w = WeightReader(source).scoped(DynamiCrafterUNet.checkpointPrefix)
        _ = try DynamiCrafterUNet(w, config: UNetConfig())
        let manifest = Set(source.shapes.keys.filter { $0.hasPrefix(DynamiCrafterUNet.checkpointPrefix + ".") })
        #expect(manifest.count == 1516)
        #expect(w.readKeys.sorted() == manifest.sorted())
    }

    /// Fixture (j): without control the output is the plain UNet's bit for bit, and zero residuals
    /// change nothing either.
    @Test(.enabled(if: ParityFixtures.available("unet_controlled_step"), ParityFixtures.missingReason))
    func noControlIsThePlainPath() throws {
        let f = try ParityFixtures.open("unet_controlled_step")
        let unet = try DynamiCrafterUNet.load(f.file, config: try UNetConfig(try f.config.dict("unet_config")))
        let x = try f.input("xc"), t = try f.input("timesteps").toInts(), fs = try f.input("fs").toInts()
        let context = try unet.prepare(context: try f.input("context"), frames: x.dim(2))
        let plain = try unet(x, timesteps: t, context: context, fs: fs).toArray()
        let none = try unet(x, timesteps: t, context: context, fs: fs, control: nil, controlScale: 0.6).toArray()
        let zeros = unet.controlShapes(batchFrames: x.dim(0) * x.dim(2), h: x.dim(3), w: x.dim(4))
            .map { Tensor(zeros: $0) }
        let zeroControl = try unet(x, timesteps: t, context: context, fs: fs, control: zeros, controlScale: 0.6).toArray()
        #expect(plain == none)
        #expect(plain == zeroControl)
        let wrong = Array(zeros.dropLast())
        #expect(throws: ModelInputError.self) {
            try unet(x, timesteps: t, context: context, fs: fs, control: wrong, controlScale: 0.6)
        }
    }

    /// The per-frame context rule (Q4) is the reference's: the fixture's context has 77 + 16·T
    /// tokens; any other length gives every frame the whole context, which must change the result.
    @Test(.enabled(if: ParityFixtures.available("unet_step"), ParityFixtures.missingReason))
    func perFrameContextRule() throws {
        let f = try ParityFixtures.open("unet_step")
        let unet = try DynamiCrafterUNet.load(f.file, config: try UNetConfig(try f.config.dict("unet_config")))
        let x = try f.input("xc"), t = try f.input("timesteps").toInts(), fs = try f.input("fs").toInts()
        let ctx = try f.input("context")
        let perFrame = try unet(x, timesteps: t, context: ctx, fs: fs).toArray()
        let whole = try unet(x, timesteps: t, context: ctx.sliced(axis: 1, 0..<(ctx.dim(1) - 1)), fs: fs).toArray()
        #expect(perFrame != whole)
        #expect(throws: ModelInputError.self) {
            try unet(x.sliced(axis: 3, 0..<(x.dim(3) - 1)), timesteps: t, context: ctx, fs: fs)
        }
    }
}
