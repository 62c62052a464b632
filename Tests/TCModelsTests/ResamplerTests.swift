import Testing
import TCCore
import TCModels

@Suite struct ResamplerTests {
    /// Spec §2.6: Perceiver resampler with shared latents and d^−¼ on q and k.
    @Test(.enabled(if: SharedFixtures.available("resampler"), "needs ../shared/parity/resampler.safetensors"))
    func resamplerFixture() throws {
        let results = try SharedFixtures.run("resampler")
        #expect(results.count == 1)
        for r in results { #expect(r.passed, "\(r.output): max \(r.maxAbsErr) rel \(r.relL2Err) \(r.problem ?? "")") }
    }
}
