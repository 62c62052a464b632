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
