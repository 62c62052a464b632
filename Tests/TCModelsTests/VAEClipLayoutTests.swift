import Foundation
import Testing
import TCCore
import TCModels

/// Spec §3.2–3.3: at the real configuration the VAE, the CLIP towers and the Resampler declare
/// exactly the checkpoint's keys and shapes under their prefixes, minus the documented unused keys
/// (every read states its expected shape; tensors are fabricated lazily from the manifest).
@Suite struct VAEClipLayoutTests {
    static var manifestPath: String? {
        SharedFixtures.directory.map { $0.appendingPathComponent("full_config_manifest.json").path }
            .flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
    }
    static let source = Result { try ManifestSource(path: manifestPath!) }

    func check(_ prefix: String, expectedCount: Int, unused: [String], build: (WeightReader) throws -> Void) throws {
        let source = try Self.source.get()
        let w = WeightReader(source)
        try build(w)
        let manifest = Set(source.shapes.keys.filter { $0.hasPrefix(prefix) })
        let unusedKeys = Set(unused.map { prefix + $0 })
        #expect(manifest.count == expectedCount)
        #expect(unusedKeys.isSubset(of: manifest), "documented unused keys missing from the checkpoint layout")
        #expect(w.readKeys.isDisjoint(with: unusedKeys))
        #expect(w.readKeys.union(unusedKeys).sorted() == manifest.sorted())
    }

    @Test(.enabled(if: manifestPath != nil, "needs ../shared/parity/full_config_manifest.json"))
    func firstStageModel() throws {
        try check("first_stage_model.", expectedCount: 396, unused: DualReferenceDecoder.unusedKeys) { w in
            _ = try VAEEncoder(w.scoped("first_stage_model"))
            _ = try DualReferenceDecoder(w.scoped("first_stage_model"))
        }
    }

    @Test(.enabled(if: manifestPath != nil, "needs ../shared/parity/full_config_manifest.json"))
    func textTower() throws {
        try check("cond_stage_model.", expectedCount: 294, unused: CLIPTextEncoder.unusedKeys(config: .vitH14).map { "model." + $0 }) { w in
            _ = try CLIPTextEncoder(w.scoped("cond_stage_model.model"))
        }
    }

    @Test(.enabled(if: manifestPath != nil, "needs ../shared/parity/full_config_manifest.json"))
    func visionTower() throws {
        try check("embedder.", expectedCount: 398, unused: CLIPVisionEncoder.unusedKeys.map { "model." + $0 }) { w in
            _ = try CLIPVisionEncoder(w.scoped("embedder.model"))
        }
    }

    @Test(.enabled(if: manifestPath != nil, "needs ../shared/parity/full_config_manifest.json"))
    func resampler() throws {
        try check("image_proj_model.", expectedCount: 51, unused: []) { w in
            _ = try Resampler(w.scoped("image_proj_model"))
        }
    }
}
