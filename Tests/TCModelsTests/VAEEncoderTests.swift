import Testing
import TCCore
import TCModels

@Suite struct VAEEncoderTests {
    /// Spec §2.2 and §1.3: moments, posterior, sampled latent and the five reference taps.
    @Test(.enabled(if: SharedFixtures.available("vae_encode"), "needs ../shared/parity/vae_encode.safetensors"))
    func vaeEncodeFixture() throws {
        let results = try SharedFixtures.run("vae_encode")
        #expect(results.count == 11)
        for r in results { #expect(r.passed, "\(r.output): max \(r.maxAbsErr) rel \(r.relL2Err) \(r.problem ?? "")") }
    }
}
