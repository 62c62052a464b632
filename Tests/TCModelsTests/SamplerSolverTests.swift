import Foundation
import Testing
import TCCore
import TCModels

/// DPM-Solver++(2M) against DDIM (η = 0, the same ODE) on the ddim_sample fixture's model.
@Suite struct SamplerSolverTests {
    static func setup() throws -> (UNetDenoiser, [Int], Tensor) {
        let f = try ParityFixtures.open("ddim_sample")
        let unet = try DynamiCrafterUNet.load(f.file, config: try UNetConfig(try f.config.dict("unet_config")))
        let c = try f.input("c_concat")
        let denoiser = try UNetDenoiser(unet: unet, concat: c, context: try f.input("c_crossattn"),
                                        unconditionalContext: try f.input("uc_crossattn"), fs: 10)
        return (denoiser, c.shape, try f.input("noise.x_T"))
    }

    static func ddim(_ d: UNetDenoiser, _ shape: [Int], _ xT: Tensor, steps: Int) throws -> [Float] {
        var s = DDIMSampler(schedule: NoiseSchedule())
        s.steps = steps
        s.eta = 0
        return try s.sample(d, shape: shape, noise: RecordedNoise([xT] + Array(repeating: Tensor(zeros: shape), count: steps))).toArray()
    }

    static func dpm(_ d: UNetDenoiser, _ shape: [Int], _ xT: Tensor, steps: Int, midpoint: Bool = true) throws -> [Float] {
        var s = DPMSolverSampler(schedule: NoiseSchedule())
        s.steps = steps
        s.midpointFinalStep = midpoint
        return try s.sample(d, shape: shape, noise: RecordedNoise([xT])).toArray()
    }

    static func distance(_ a: [Float], _ b: [Float]) -> (maxAbs: Double, rel: Double, scale: Double) {
        var m = 0.0, num = 0.0, den = 0.0, scale = 0.0
        for (x, y) in zip(a, b) {
            let d = Double(x) - Double(y)
            m = max(m, abs(d)); num += d * d; den += Double(y) * Double(y); scale = max(scale, abs(Double(y)))
        }
        return (m, (num / den).squareRoot(), scale)
    }

    /// Its first-order steps are DDIM(η = 0): with 2 steps and a first-order final step both steps
    /// are first order (λ = −∞ at t = 999).
    @Test(.enabled(if: ParityFixtures.available("ddim_sample"), ParityFixtures.missingReason))
    func firstOrderIsDDIM() throws {
        let (d, shape, xT) = try Self.setup()
        let a = try Self.ddim(d, shape, xT, steps: 2), b = try Self.dpm(d, shape, xT, steps: 2, midpoint: false)
        #expect(Self.distance(b, a).maxAbs < 1e-5)
    }

    /// On Gaussian data, x₀ ~ N(μ, s²) per element, the exact x̂₀ is linear in x_t and the
    /// probability-flow ODE has a closed form (the standardised (x − α_t·μ)/√(α_t²s² + σ_t²) is
    /// constant along it), so both solvers can be checked against the exact endpoint at ᾱ_0.
    /// DPM-Solver++(2M) needs far fewer steps than DDIM for the same error: 15 steps (16 model
    /// evaluations) land closer to the exact endpoint than DDIM-50.
    @Test func gaussianDataConvergence() throws {
        final class GaussianData: GuidedDenoiser {
            let mu: Float = 0.5, s: Float = 0.8
            let acp = NoiseSchedule().alphasCumprod
            func predict(_ x: Tensor, timestep t: Int) throws -> (cond: Tensor, uncond: Tensor?) {
                let a = acp[t].squareRoot(), sg = (1 - acp[t]).squareRoot()
                let gain = a * s * s / (a * a * s * s + sg * sg)
                let x0 = (x - a * mu) * gain + mu
                return ((x * a - x0) * (1 / sg), nil)
            }
        }
        let d = GaussianData(), shape = [1, 4, 2, 4, 4]
        let xT = SeededGaussianNoise(seed: 5).next(shape)
        let a0 = Double(d.acp[0])
        let exact = xT.toArray().map { Float(a0.squareRoot() * Double(d.mu) + (a0 * Double(d.s * d.s) + 1 - a0).squareRoot() * Double($0)) }
        func run(dpm: Bool, _ n: Int) throws -> [Float] {
            if dpm {
                var s = DPMSolverSampler(schedule: NoiseSchedule()); s.steps = n; s.dynamicRescale = false
                return try s.sample(d, shape: shape, noise: RecordedNoise([xT])).toArray()
            }
            var s = DDIMSampler(schedule: NoiseSchedule()); s.steps = n; s.eta = 0; s.dynamicRescale = false
            return try s.sample(d, shape: shape, noise: RecordedNoise([xT] + Array(repeating: Tensor(zeros: shape), count: n))).toArray()
        }
        let ddim50 = try run(dpm: false, 50)
        let ddim50Error = Self.distance(ddim50, exact).maxAbs
        for n in [5, 8, 10, 12, 15, 20, 50] {
            let p = try run(dpm: true, n)
            print(String(format: "Gaussian data, %2d steps: DPM++2M error %.3e (vs DDIM-50 %.3e), DDIM error %.3e", n,
                         Self.distance(p, exact).maxAbs, Self.distance(p, ddim50).maxAbs, Self.distance(try run(dpm: false, n), exact).maxAbs))
        }
        #expect(Self.distance(try run(dpm: true, 15), exact).maxAbs < ddim50Error)
        #expect(Self.distance(try run(dpm: true, 50), exact).maxAbs < ddim50Error / 10)
    }

    /// Convergence table (TCGRAPH_HEAVY_TESTS=1): DPM-Solver++(2M) and DDIM(η = 0) at S steps
    /// against DDIM-50 and DDIM-250, with the reference's guidance and dynamic rescale. The
    /// fixture's random weights make v oscillate in t on the scale of one timestep (a random MLP
    /// over sinusoids of up to 1 rad per step), so no solver converges quickly on it: DDIM-50 and
    /// DDIM-250 already differ by ~10 % (rel-L2). The table is for the record, not an assertion.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TCGRAPH_HEAVY_TESTS"] == "1"
                   && ParityFixtures.available("ddim_sample"), "heavy: set TCGRAPH_HEAVY_TESTS=1"))
    func convergenceTable() throws {
        let (d, shape, xT) = try Self.setup()
        let ddim50 = try Self.ddim(d, shape, xT, steps: 50), ddim250 = try Self.ddim(d, shape, xT, steps: 250)
        let r = Self.distance(ddim50, ddim250)
        print(String(format: "DDIM-50 vs DDIM-250: max %.3e rel %.3e (max|x| %.3f)", r.maxAbs, r.rel, r.scale))
        print("steps  DPM++2M vs DDIM-50 (max, rel)   vs DDIM-250          DDIM vs DDIM-50 (max, rel)")
        for steps in [5, 6, 8, 10, 12, 15, 20, 25, 30] {
            let p = try Self.dpm(d, shape, xT, steps: steps), q = try Self.ddim(d, shape, xT, steps: steps)
            let a = Self.distance(p, ddim50), b = Self.distance(p, ddim250), c = Self.distance(q, ddim50)
            print(String(format: "%5d  %.3e %.3e   %.3e %.3e   %.3e %.3e", steps, a.maxAbs, a.rel, b.maxAbs, b.rel, c.maxAbs, c.rel))
        }
    }
}
