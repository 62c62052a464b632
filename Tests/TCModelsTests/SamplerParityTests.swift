import Testing
import TCCore
import TCModels

/// Fixture (g): the DDIM loop of the reference (spec §1.10, Appendix A) with recorded noise.
@Suite struct SamplerParityTests {
    @Test(.enabled(if: ParityFixtures.available("ddim_sample"), ParityFixtures.missingReason))
    func ddimSample() throws {
        #expect(try ParityFixtures.failures("ddim_sample") == [])
    }
}
