import Foundation
import Testing
import TCCore
import TCModels

@Suite struct SamplerTests {
    /// Spec Appendix A: 50 uniform_trailing steps of the real schedule, η = 1.
    @Test func appendixACoefficients() throws {
        let schedule = NoiseSchedule()
        #expect(schedule.alphasCumprod[999] == 0)
        #expect(abs(schedule.alphasCumprod[0] - 0.99915) < 1e-6)
        #expect(abs(schedule.alphasCumprod[499] - 0.242359) < 1e-6)
        #expect(abs(schedule.betas64[998] - 0.751137) < 1e-6)
        #expect(schedule.betas64[999] == 1)
        let plan = try DDIMSampler(schedule: schedule).plan()
        #expect(plan.map(\.timestep) == Array(stride(from: 999, through: 19, by: -20)))
        let rows: [(i: Int, sigma: Float, coef: Float, rescale: Float)] = [
            (0, 0.999957, 0.000244, 1), (1, 0.878125, 0.478040, 1), (30, 0.272293, 0.706255, 1.021482),
            (48, 0.100531, 0.094250, 1.015492), (49, 0.028507, 0.006112, 1),
        ]
        for r in rows {
            let c = plan[r.i]
            #expect(abs(c.sigma - r.sigma) < 1e-6, "σ at step \(r.i)")
            #expect(abs(((1 - c.aPrev) - c.sigma * c.sigma).squareRoot() - r.coef) < 2e-6, "ε̂ coefficient at step \(r.i)")
            #expect(abs(c.prevScale / c.scale - r.rescale) < 1e-6, "x̂₀ rescale at step \(r.i)")
        }
        #expect(try TimestepSpacing.uniform.timesteps(steps: 50) == Array(stride(from: 1, to: 1000, by: 20)))
        // numpy's arange/round (half to even: 937.5 → 938 at 16 steps).
        #expect(try TimestepSpacing.uniformTrailing.timesteps(steps: 7) == [142, 285, 428, 570, 713, 856, 999])
        #expect(try TimestepSpacing.uniformTrailing.timesteps(steps: 16)
                == [61, 124, 187, 249, 311, 374, 437, 499, 561, 624, 687, 749, 811, 874, 937, 999])
        #expect(try TimestepSpacing.uniformTrailing.timesteps(steps: 3) == [332, 666, 999])
        #expect(throws: ModelInputError.self) { try TimestepSpacing.uniformTrailing.timesteps(steps: 0) }
    }

    /// The checkpoint's schedule buffers override the recomputation; a mismatch is reported.
    @Test func checkpointBuffersAreAuthoritative() throws {
        let s = NoiseSchedule()
        final class Buffers: TensorSource {
            var tensors: [String: Tensor]
            init(_ t: [String: Tensor]) { tensors = t }
            var sourceName: String { "buffers" }
            var allKeys: [String] { tensors.keys.sorted() }
            func contains(_ key: String) -> Bool { tensors[key] != nil }
            func tensor(_ key: String) throws -> Tensor { tensors[key]! }
        }
        let same = try s.overridden(by: Buffers(["alphas_cumprod": Tensor(s.alphasCumprod, [1000])]))
        #expect(same.warnings.isEmpty && same.0.alphasCumprod == s.alphasCumprod)
        var changed = s.alphasCumprod
        changed[500] *= 1.01
        let other = try s.overridden(by: Buffers(["alphas_cumprod": Tensor(changed, [1000])]))
        #expect(other.warnings.count == 1)
        #expect(other.0.alphasCumprod == changed)
    }

    @Test func seededNoiseIsReproducibleAndStandardNormal() {
        let a = SeededGaussianNoise(seed: 123).next([4, 16, 40, 64]).toArray()
        let b = SeededGaussianNoise(seed: 123).next([4, 16, 40, 64]).toArray()
        let c = SeededGaussianNoise(seed: 124).next([4, 16, 40, 64]).toArray()
        #expect(a == b && a != c)
        let mean = a.reduce(0.0) { $0 + Double($1) } / Double(a.count)
        let variance = a.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(a.count)
        #expect(abs(mean) < 0.01 && abs(variance - 1) < 0.01)
    }

    /// Guidance rescale: std(result) moves towards std(v_cond) by φ (unbiased std).
    @Test func guidanceRescale() {
        let noise = SeededGaussianNoise(seed: 1)
        let vc = noise.next([1, 3, 5]), vu = noise.next([1, 3, 5])
        let plain = Guidance(scale: 7.5, rescale: 0).combine(cond: vc, uncond: vu).toArray()
        let cfg = zip(vc.toArray(), vu.toArray()).map { $1 + 7.5 * ($0 - $1) }
        #expect(zip(plain, cfg).allSatisfy { abs($0 - $1) < 1e-5 })
        func std(_ x: [Float]) -> Double {
            let m = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
            return (x.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(x.count - 1)).squareRoot()
        }
        let full = Guidance(scale: 7.5, rescale: 1).combine(cond: vc, uncond: vu).toArray()
        #expect(abs(std(full) - std(vc.toArray())) < 1e-5)
    }

    /// Both guidance branches in one batch give what two separate calls give; progress is reported
    /// per step and cancellation stops the loop.
    @Test(.enabled(if: ParityFixtures.available("ddim_sample"), ParityFixtures.missingReason))
    func batchedBranchesProgressAndCancel() throws {
        let f = try ParityFixtures.open("ddim_sample")
        let unet = try DynamiCrafterUNet.load(f.file, config: try UNetConfig(try f.config.dict("unet_config")))
        let c = try f.input("c_concat"), ctx = try f.input("c_crossattn"), uc = try f.input("uc_crossattn")
        let denoiser = try UNetDenoiser(unet: unet, concat: c, context: ctx, unconditionalContext: uc, fs: 10)
        let x = try f.input("noise.x_T")
        let (vc, vu) = try denoiser.predict(x, timestep: 999)
        let xc = concat([x, c], axis: 1)
        let sc = try unet(xc, timesteps: [999], context: ctx, fs: [10]).toArray()
        let su = try unet(xc, timesteps: [999], context: uc, fs: [10]).toArray()
        #expect(zip(vc.toArray(), sc).map { abs($0 - $1) }.max()! < 1e-5)
        #expect(zip(vu!.toArray(), su).map { abs($0 - $1) }.max()! < 1e-5)

        var sampler = DDIMSampler(schedule: NoiseSchedule())
        sampler.steps = 3
        var seen: [Int] = []
        let a = try sampler.sample(denoiser, shape: c.shape, noise: SeededGaussianNoise(seed: 7),
                                   observer: SamplingObserver(progress: { done, total in seen.append(done); #expect(total == 3) }))
        #expect(seen == [1, 2, 3])
        let b = try sampler.sample(denoiser, shape: c.shape, noise: SeededGaussianNoise(seed: 7))
        #expect(a.toArray() == b.toArray())
        var calls = 0
        #expect(throws: SamplingError.cancelled) {
            try sampler.sample(denoiser, shape: c.shape, noise: SeededGaussianNoise(seed: 7),
                               observer: SamplingObserver(isCancelled: { calls += 1; return calls > 1 }))
        }
    }
}

/// A cached unconditional context batched with a fresh conditional one is what preparing both
/// together gives; contexts of different lengths are refused.
@Test(.enabled(if: ParityFixtures.available("ddim_sample"), ParityFixtures.missingReason))
func preparedContextsBatch() throws {
    let f = try ParityFixtures.open("ddim_sample")
    let unet = try DynamiCrafterUNet.load(f.file, config: try UNetConfig(try f.config.dict("unet_config")))
    let c = try f.input("c_concat"), ctx = try f.input("c_crossattn"), uc = try f.input("uc_crossattn")
    let frames = c.dim(2)
    let cached = try unet.prepare(context: uc, frames: frames)
    let a = try UNetDenoiser(unet: unet, concat: c, context: try unet.prepare(context: ctx, frames: frames),
                             unconditional: cached, fs: 10)
    let b = try UNetDenoiser(unet: unet, concat: c, context: ctx, unconditionalContext: uc, fs: 10)
    let x = try f.input("noise.x_T")
    let (ac, au) = try a.predict(x, timestep: 500), (bc, bu) = try b.predict(x, timestep: 500)
    #expect(ac.toArray() == bc.toArray() && au!.toArray() == bu!.toArray())
    let short = try unet.prepare(context: ctx.sliced(axis: 1, 0..<100), frames: frames)
    #expect(throws: ModelInputError.self) { try UNetContext.batched([short, cached]) }
}
