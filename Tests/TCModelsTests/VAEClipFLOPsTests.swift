import Testing
import TCModels

/// Spec §5.2 at the real configuration: decode of 16 frames at 40×64 = 37.9 TFLOP (14 frames 33.1),
/// encode of 16 frames at 320×512 = 11.0 (2 frames 1.38), CLIP vision 0.335 and text 0.045 per
/// call, Resampler 0.03.
@Suite struct VAEClipFLOPsTests {
    func near(_ x: Double, _ tflop: Double, _ tol: Double) -> Bool { abs(x / 1e12 - tflop) <= tol }

    @Test func vaeMatchesSpec() {
        let vae = VAEConfig.toonCrafter
        let d16 = vae.decoderFLOPs(frames: 16, latentHeight: 40, latentWidth: 64)
        let d14 = vae.decoderFLOPs(frames: 14, latentHeight: 40, latentWidth: 64)
        let e16 = vae.encoderFLOPs(frames: 16, height: 320, width: 512)
        let e2 = vae.encoderFLOPs(frames: 2, height: 320, width: 512)
        print("VAE FLOPs: decode16 \(d16 / 1e12) decode14 \(d14 / 1e12) encode16 \(e16 / 1e12) encode2 \(e2 / 1e12) TFLOP")
        #expect(near(d16, 37.9, 0.05))
        #expect(near(d14, 33.1, 0.05))
        #expect(near(e16, 11.0, 0.05))
        #expect(near(e2, 1.38, 0.005))
    }

    @Test func clipAndResamplerMatchSpec() {
        let v = OpenCLIPVisionConfig.vitH14.flops(batch: 1)
        let t = OpenCLIPTextConfig.vitH14.flops(batch: 1)
        let r = ResamplerConfig.toonCrafter.flops(batch: 1)
        print("FLOPs: CLIP vision \(v / 1e12) text \(t / 1e12) resampler \(r / 1e12) TFLOP")
        #expect(near(2 * v, 0.67, 0.005))
        #expect(near(2 * t, 0.09, 0.005))
        #expect(near(2 * r, 0.06, 0.005))
        #expect(OpenCLIPVisionConfig.vitH14.flops(batch: 2) == 2 * v)
    }
}
