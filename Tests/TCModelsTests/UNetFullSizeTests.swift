import Foundation
import Testing
import TCCore
import TCModels

/// Full-size forward (TCGRAPH_HEAVY_TESTS=1): the real config on zero weights in the manifest's
/// layout (timing-representative, 50 MB instead of 5.7 GB), B = 2 (both guidance branches),
/// T = 16, 40×64, 333-token context. Prints time per block and peak tensor memory; asserts only
/// that the output has the right shape and is finite.
@Test(.enabled(if: ProcessInfo.processInfo.environment["TCGRAPH_HEAVY_TESTS"] == "1"
               && UNetLayoutTests.manifestPath != nil, "heavy: set TCGRAPH_HEAVY_TESTS=1"))
func fullSizeForward() throws {
    let source = try ManifestSource(path: UNetLayoutTests.manifestPath!)
    let unet = try DynamiCrafterUNet(WeightReader(source).scoped(DynamiCrafterUNet.checkpointPrefix), config: UNetConfig())
    let b = 2, t = 16
    let x = SeededGaussianNoise(seed: 1).next([b, 8, t, 40, 64])
    let context = try unet.prepare(context: SeededGaussianNoise(seed: 2).next([b, 333, 1024]), frames: t)
    MemoryStats.shared.resetPeak()
    let start = Date()
    var last = start
    let v = try unet(x, timesteps: [999, 999], context: context, fs: [10, 10], tap: { name, _ in
        let now = Date()
        print(String(format: "  %-20@ %7.2f s", name, now.timeIntervalSince(last)))
        last = now
    })
    let seconds = Date().timeIntervalSince(start)
    let flops = UNetConfig().flops(batch: b, frames: t, height: 40, width: 64, contextLength: 333).total
    print(String(format: "full-size UNet forward B=%d: %.1f s, %.1f GFLOP/s, peak tensor memory %.2f GiB", b, seconds,
                 flops / seconds / 1e9, Double(MemoryStats.shared.peakBytes) / Double(1 << 30)))
    #expect(v.shape == [b, 4, t, 40, 64])
    let finite = v.toArray().allSatisfy { $0.isFinite }
    #expect(finite)
}
