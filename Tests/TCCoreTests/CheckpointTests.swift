import Foundation
import Testing
import TCCore

/// Files made by tools/fixtures/make_checkpoint_fixtures.py with torch.save and safetensors.
func checkpointFixture(_ name: String) -> String { TestFixtures.path("checkpoints/" + name) }

/// Every tensor of `source` equals the reference value (same key, shape, dtype, bytes).
func expectMatchesReference(_ source: TensorSource, keys: [String]? = nil) throws {
    let ref = try SafeTensorsFile(path: checkpointFixture("reference.safetensors"))
    let expected = keys ?? ref.keys
    #expect(Set(source.allKeys) == Set(expected), "\(source.sourceName)")
    for k in expected {
        let got = try source.tensor(k), want = try ref.tensor(k)
        #expect(got.shape == want.shape && got.dtype == want.dtype, "\(k): \(got) vs \(want)")
        let a = got.contiguous(), b = want.contiguous()
        let same = memcmp(a.rawPointer, b.rawPointer, a.count * a.dtype.byteSize) == 0
        #expect(same, "\(source.sourceName): '\(k)' differs from the reference")
    }
}

@Test func lightningCheckpointReadsStateDictAndIgnoresBookkeeping() throws {
    let ckpt = try TorchCheckpoint(path: checkpointFixture("lightning.ckpt"))
    #expect(ckpt.layout == "state_dict")
    try expectMatchesReference(ckpt)
    // The legacy name is gone, the reference loader's name is there (spec §3.1).
    #expect(ckpt.contains("fps_embedding.weight") && !ckpt.contains("framestride_embed.weight"))
    let book = Dictionary(uniqueKeysWithValues: ckpt.bookkeeping.map { ($0.key, $0.summary) })
    #expect(book["epoch"] == "3" && book["global_step"] == "120")
    #expect(book["hyper_parameters"] != nil && book["optimizer_states"] != nil)
    // Views keep their layout: the transposed tensor is strided, `rows` sits at an offset.
    let t = try ckpt.tensor("transposed")
    #expect(t.shape == [6, 4] && t.strides == [1, 6] && !t.isContiguous)
    #expect(ckpt.entries["rows"]?.offset == 6 && ckpt.entries["rows"]?.storageKey == ckpt.entries["transposed"]?.storageKey)
    #expect(ckpt.entries["half"]?.dtype == .f16 && ckpt.entries["bf16"]?.dtype == .bf16 && ckpt.entries["steps"]?.dtype == .i64)
}

@Test func tensorsAreZeroCopyViewsOfTheFile() throws {
    let ckpt = try TorchCheckpoint(path: checkpointFixture("lightning.ckpt"))
    let before = MemoryStats.shared.liveBytes
    let w = try ckpt.tensor("conv.weight")
    #expect(MemoryStats.shared.liveBytes == before)
    #expect(Int(bitPattern: w.rawPointer) % 64 == 0, "torch aligns storages to 64 bytes")
    let w2 = try ckpt.tensor("conv.weight")
    #expect(w.rawPointer == w2.rawPointer)
}

@Test(arguments: ["deepspeed.pt", "protocol4.ckpt", "lightning.ckpt"])
func layoutsAndProtocols(file: String) throws {
    let source = try openWeightFile(checkpointFixture(file))
    try expectMatchesReference(source)
}

@Test func dataParallelPrefixIsRemovedLikeAnime2SketchsLoader() throws {
    let raw = try openWeightFile(checkpointFixture("dataparallel.pth"))
    #expect(raw.allKeys.allSatisfy { $0.hasPrefix("module.") })
    let stripped = try RenamedTensorSource(raw, removing: "module.")
    try expectMatchesReference(stripped)
}

@Test func zip64RecordsAndUnalignedStorages() throws {
    let ckpt = try TorchCheckpoint(path: checkpointFixture("zip64.ckpt"))
    try expectMatchesReference(ckpt, keys: ["conv.weight", "half", "rows"])
}

@Test func safetensorsOpensByContent() throws {
    let s = try openWeightFile(checkpointFixture("reference.safetensors"))
    #expect(s is SafeTensorsFile)
    try expectMatchesReference(s)
}

@Test func compositeSourceMountsFilesUnderPrefixes() throws {
    let ref = try SafeTensorsFile(path: checkpointFixture("reference.safetensors"))
    let deep = try openWeightFile(checkpointFixture("deepspeed.pt"))
    let composite = CompositeTensorSource([
        .init(prefix: "", source: ref),
        .init(prefix: "cond_stage_model.model.", source: deep),
        .init(prefix: "embedder.model.visual.", source: deep, sourcePrefix: "conv."),
    ])
    #expect(composite.contains("half") && composite.contains("cond_stage_model.model.half"))
    #expect(composite.contains("embedder.model.visual.weight") && !composite.contains("embedder.model.visual.half"))
    #expect(composite.allKeys.count == 2 * ref.keys.count + 2)
    let a = try composite.tensor("cond_stage_model.model.conv.weight"), b = try composite.tensor("embedder.model.visual.weight")
    let c = try ref.tensor("conv.weight")
    #expect(a.toArray() == b.toArray() && a.toArray() == c.toArray())
    #expect(throws: WeightError.missingKey(file: deep.sourceName, key: "conv.nothing' (for 'embedder.model.visual.nothing")) {
        try composite.tensor("embedder.model.visual.nothing")
    }
}

// MARK: - Hostile files

func weightError(_ body: () throws -> Void) -> WeightError? {
    do { try body() } catch let e as WeightError { return e } catch { return nil }
    return nil
}

@Test(arguments: [
    ("evil_system.ckpt", "posix.system"), ("evil_eval.ckpt", "__builtin__.eval"),
])
func forbiddenGlobalsAreRefusedByName(file: String, global: String) {
    let e = weightError { _ = try openWeightFile(checkpointFixture(file)) }
    guard case let .forbidden(f, reason)? = e else { Issue.record("expected a refusal, got \(String(describing: e))"); return }
    #expect(f.hasSuffix(file) && reason.contains("'\(global)'"), "\(reason)")
    #expect(!FileManager.default.fileExists(atPath: "/tmp/tcgraph-pwned"))
}

@Test(arguments: [
    ("absurd_shape.ckpt", "overflows"), ("view_past_storage.ckpt", "reaches element 4 of storage '0', which holds 4"),
    ("numel_mismatch.ckpt", "declares 100 FloatStorage elements"), ("missing_storage.ckpt", "no archive entry archive/data/7"),
    ("not_a_tensor.ckpt", "entry 'step' is a int, not a tensor"), ("deflated.ckpt", "is compressed"),
    ("truncated_pickle.ckpt", "without a STOP"), ("truncated.ckpt", "end-of-central-directory"),
    ("offset_past_eof.ckpt", "no local header"),
    ("st_header_past_eof.safetensors", "does not fit"), ("st_offsets_past_eof.safetensors", "past the end"),
    ("st_shape_mismatch.safetensors", "does not match byte range"), ("st_not_json.safetensors", "not a JSON object"),
    ("st_bad_dtype.safetensors", "unsupported dtype C64"),
])
func malformedFilesAreRejectedWithAReason(file: String, reason: String) {
    let e = weightError { _ = try openWeightFile(checkpointFixture(file)) }
    #expect(e != nil, "\(file) was accepted")
    if let e {
        #expect(e.description.contains(file) && e.description.contains(reason), "\(e)")
    }
}

@Test func nonWeightFilesAreNamed() {
    let missing = weightError { _ = try openWeightFile("/nonexistent/model.ckpt") }
    #expect(missing == .cannotOpen(file: "/nonexistent/model.ckpt", reason: "no such file"))
    let text = weightError { _ = try openWeightFile(TestFixtures.path("../Support.swift")) }
    #expect(text?.description.contains("neither a safetensors file nor a PyTorch zip checkpoint") == true)
}
