import Testing
import TCCore
import TCModels

/// Fixtures (c) and (j): one UNet forward (spec §2.1) and the ControlNet residual injection.
@Suite struct UNetParityTests {
    @Test(.enabled(if: ParityFixtures.available("unet_step"), ParityFixtures.missingReason))
    func unetStep() throws {
        #expect(try ParityFixtures.failures("unet_step") == [])
    }

    @Test(.enabled(if: ParityFixtures.available("unet_controlled_step"), ParityFixtures.missingReason))
    func unetControlledStep() throws {
        #expect(try ParityFixtures.failures("unet_controlled_step") == [])
    }
}
