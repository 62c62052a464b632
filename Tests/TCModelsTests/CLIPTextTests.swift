import Testing
import TCCore
import TCModels

@Suite struct CLIPTextTests {
    /// Spec §2.4, §2.7: tokenizer output and the penultimate-layer + ln_final embedding of all 77 tokens.
    @Test(.enabled(if: SharedFixtures.available("clip_text"), "needs ../shared/parity/clip_text.safetensors"))
    func clipTextFixture() throws {
        let results = try SharedFixtures.run("clip_text")
        #expect(results.map(\.output).sorted() == ["embedding", "tokens"])
        for r in results { #expect(r.passed, "\(r.output): max \(r.maxAbsErr) rel \(r.relL2Err) \(r.problem ?? "")") }
    }
}

@Suite struct CLIPVisionTests {
    /// Spec §1.5, §2.5: kornia-style squash resize + CLIP normalisation, then the tower.
    @Test(.enabled(if: SharedFixtures.available("clip_vision"), "needs ../shared/parity/clip_vision.safetensors"))
    func clipVisionFixture() throws {
        let results = try SharedFixtures.run("clip_vision")
        #expect(results.map(\.output).sorted() == ["preprocessed", "tokens"])
        for r in results { #expect(r.passed, "\(r.output): max \(r.maxAbsErr) rel \(r.relL2Err) \(r.problem ?? "")") }
    }

    /// Spec §2.5: the tower on the fixture's preprocessed image returns all tokens of the last block.
    @Test(.enabled(if: SharedFixtures.available("clip_vision"), "needs ../shared/parity/clip_vision.safetensors"))
    func towerOnPreprocessedImage() throws {
        let fixture = try ParityFixture(path: SharedFixtures.url("clip_vision")!.path)
        let tower = try CLIPVisionEncoder(fixture.weights.scoped("embedder.model"), config: OpenCLIPVisionConfig(fixture.config))
        let got = try tower(fixture.expected("preprocessed"))
        let results = try fixture.compare(["tokens": got, "preprocessed": fixture.expected("preprocessed")])
        for r in results { #expect(r.passed, "\(r.output): max \(r.maxAbsErr) rel \(r.relL2Err) \(r.problem ?? "")") }
        #expect(throws: ModelInputError.self) { try tower(Tensor(zeros: [1, 3, 220, 224])) }
    }
}
