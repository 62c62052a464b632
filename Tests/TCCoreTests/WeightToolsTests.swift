import Foundation
import Testing
import TCCore

func temporaryDirectory() -> String {
    let d = NSTemporaryDirectory() + "tcgraph-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

@Test(arguments: [DType.f16, .bf16, .f32])
func convertedFileHoldsRoundedValuesAndStaysAligned(target: DType) throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let source = try openWeightFile(checkpointFixture("lightning.ckpt"))
    let entries = try source.allKeys.map { key in
        let t = try source.tensor(key)
        return SafeTensorsEntry(key: key, dtype: t.dtype == .i64 ? .i64 : target, shape: t.shape) { try source.tensor(key) }
    }
    let out = dir + "/out.safetensors"
    let report = try writeSafeTensors(entries, to: out, metadata: ["k": "v"])
    #expect(report.overflowed.isEmpty)
    let file = try SafeTensorsFile(path: out)
    let size = try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int
    #expect(file.metadata["k"] == "v" && report.bytes == size)
    let ref = try SafeTensorsFile(path: checkpointFixture("reference.safetensors"))
    for key in ref.keys {
        let got = try file.tensor(key), want = try ref.tensor(key)
        #expect(Int(bitPattern: got.rawPointer) % got.dtype.byteSize == 0, "\(key) is misaligned")
        let expected = want.dtype == .i64 ? want : want.converted(to: target)
        #expect(got.dtype == expected.dtype && got.shape == expected.shape)
        #expect(memcmp(got.rawPointer, expected.rawPointer, got.count * got.dtype.byteSize) == 0, "\(key)")
    }
    let left = try FileManager.default.contentsOfDirectory(atPath: dir)
    #expect(left == ["out.safetensors"])
}

@Test func narrowingReportsOverflow() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let big = Tensor([1, 70000, -1e6, 3], [4])
    let report = try writeSafeTensors([SafeTensorsEntry(key: "x", dtype: .f16, shape: [4]) { big }], to: dir + "/x.safetensors")
    #expect(report.overflowed.count == 1 && report.overflowed[0].count == 2)
}

@Test func failedWritesLeaveNothingBehind() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let existing = dir + "/model.safetensors"
    _ = FileManager.default.createFile(atPath: existing, contents: Data("old".utf8))
    struct Boom: Error {}
    let entries = [
        SafeTensorsEntry(key: "a", dtype: .f32, shape: [2]) { Tensor([1, 2], [2]) },
        SafeTensorsEntry(key: "b", dtype: .f32, shape: [2]) { throw Boom() },
    ]
    #expect(throws: Boom.self) { _ = try writeSafeTensors(entries, to: existing) }
    // The old file is untouched and no temporary file remains.
    #expect(FileManager.default.contents(atPath: existing) == Data("old".utf8))
    let left = try FileManager.default.contentsOfDirectory(atPath: dir)
    #expect(left == ["model.safetensors"])
    let wrongShape = [SafeTensorsEntry(key: "a", dtype: .f32, shape: [3]) { Tensor([1, 2], [2]) }]
    #expect(throws: WeightError.self) { _ = try writeSafeTensors(wrongShape, to: existing) }
    #expect(throws: WeightError.self) { _ = try writeSafeTensors(wrongShape, to: dir + "/no/such/dir/x.safetensors") }
}

@Test func inspectionGroupsAndManifestComparison() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let insp = try WeightInspection(try openWeightFile(checkpointFixture("lightning.ckpt")))
    #expect(insp.items.count == 11 && insp.elements == 131)
    #expect(insp.dtypes == ["f32": 8, "f16": 1, "bf16": 1, "i64": 1])
    let groups = insp.groups(depth: 1)
    #expect(groups.map(\.prefix) == ["(top level)", "conv", "fps_embedding"])
    #expect(groups.map(\.elements) == [64, 57, 10])
    let manifest = """
        {"keys": {"conv.weight": {"shape": [3, 2, 3, 3]}, "conv.bias": {"shape": [4]},
                  "fps_embedding.weight": {"shape": [2, 4], "used_by_interp_pipeline": true},
                  "gone": {"shape": [1], "used_by_interp_pipeline": false},
                  "needed": {"shape": [1]}}}
        """
    _ = FileManager.default.createFile(atPath: dir + "/m.json", contents: Data(manifest.utf8))
    let c = ManifestComparison(insp, try WeightManifest(path: dir + "/m.json"))
    #expect(c.missingUsed == ["needed"] && c.missingUnused == ["gone"])
    #expect(c.shapeMismatches.count == 1 && c.shapeMismatches[0].key == "conv.bias" && c.shapeMismatches[0].got == [3])
    #expect(Set(c.unexpected) == Set(["fps_embedding.bias", "steps", "half", "bf16", "transposed", "rows", "scalar", "empty"]))
    #expect(!c.isLoadable)
}

@Test(.enabled(if: SharedParity.path("full_config_manifest.json") != nil, SharedParity.skipReason))
func sharedManifestListsTheFullModel() throws {
    let m = try WeightManifest(path: SharedParity.path("full_config_manifest.json")!)
    #expect(m.keys.count == 2668)
    #expect(m.keys["model.diffusion_model.input_blocks.0.0.weight"]?.shape == [320, 8, 3, 3])
    #expect(m.keys["first_stage_model.post_quant_conv.weight"]?.used == false)
    let total = m.keys.values.reduce(0) { $0 + $1.shape.reduce(1, *) }
    #expect(total == 2_625_430_449)
}
