import Testing
import TCModels

/// Spec §5.2: one forward of the real UNet at B=1, T=16, 40×64 with the 333-token context is
/// 12.60 TFLOP: convolutions 5.90, Linear layers 5.88, attention products 0.83.
@Test func realConfigFLOPsMatchSpec() {
    let f = UNetConfig().flops(batch: 1, frames: 16, height: 40, width: 64, contextLength: 333)
    print("UNet FLOPs: conv \(f.convolution / 1e12) linear \(f.linear / 1e12) attention \(f.attention / 1e12) total \(f.total / 1e12) TFLOP")
    #expect(abs(f.total / 1e12 - 12.60) < 0.005)
    #expect(abs(f.convolution / 1e12 - 5.90) < 0.005)
    #expect(abs(f.linear / 1e12 - 5.88) < 0.005)
    #expect(abs(f.attention / 1e12 - 0.83) < 0.005)
    let two = UNetConfig().flops(batch: 2, frames: 16, height: 40, width: 64, contextLength: 333)
    #expect(abs(two.total - 2 * f.total) < 1e-6 * f.total)
}
