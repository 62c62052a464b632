import Foundation
import TCCore

/// DPM-Solver++(2M) (Lu et al. 2022, multistep, data prediction) for the v-prediction model: a
/// deterministic solver of the probability-flow ODE that DDIM with η = 0 solves to first order.
/// It uses the same timestep grid, guidance and dynamic x̂₀ rescale as `DDIMSampler`, and ends, as
/// the reference's DDIM does, at ᾱ_0 rather than at a noise-free sample.
///
/// With α = √ᾱ, σ = √(1−ᾱ), λ = log(α/σ) and the model's data prediction x̂₀ = α_t·x − σ_t·v, a step
/// t → s with h = λ_s − λ_t uses D = (1 + 1/2r)·x̂₀ − (1/2r)·x̂₀_prev, r = h_prev/h (D = x̂₀ on
/// first-order steps), and x_s = α_s·ρ·D + σ_s·(x − α_t·D)/σ_t with ρ the dynamic-rescale factor.
/// The final step is a midpoint step (below).
/// For ρ = 1 this is the solver's usual update (σ_s/σ_t)·x + α_s(1 − e^{−h})·D; its first-order
/// step is exactly DDIM with η = 0. At t = 999 (zero terminal SNR) λ = −∞, so the first two steps
/// are first order.
public struct DPMSolverSampler {
    public var schedule: NoiseSchedule
    public var steps = 20
    public var spacing = TimestepSpacing.uniformTrailing
    public var guidance = Guidance()
    public var dynamicRescale = true
    /// The last step (t_min → ᾱ_0) is a long one in λ on the trailing grid, and extrapolating the
    /// multistep history over it is unstable. `true` makes it a second-order midpoint step
    /// (DPM-Solver++(2S), one extra model evaluation); `false` makes it first order.
    public var midpointFinalStep = true

    public init(schedule: NoiseSchedule) { self.schedule = schedule }

    /// Model evaluations of a run: one per step, plus one for a midpoint final step.
    public var evaluations: Int { steps + (midpointFinalStep ? 1 : 0) }

    /// Samples latents of `shape` from x_T = `noise.next(shape)`; no other noise is drawn.
    public func sample(_ denoiser: GuidedDenoiser, shape: [Int], noise: NoiseSource,
                       observer: SamplingObserver = SamplingObserver()) throws -> Tensor {
        let tau = try spacing.timesteps(steps: steps, trainingSteps: schedule.timesteps)
        let acp = schedule.alphasCumprod
        let scales = dynamicRescale ? schedule.scaleArr : nil
        func alpha(_ a: Float) -> Double { Double(a).squareRoot() }
        func sigma(_ a: Float) -> Double { (1 - Double(a)).squareRoot() }
        func lambda(_ a: Float) -> Double { log(alpha(a) / sigma(a)) }
        func predict(_ x: Tensor, _ t: Int) throws -> (x0: Tensor, vc: Tensor, vu: Tensor?) {
            let (vc, vu) = try denoiser.predict(x, timestep: t)
            let v = guidance.combine(cond: vc, uncond: vu)
            return (x * schedule.sqrtAlphasCumprod[t] - v * schedule.sqrtOneMinusAlphasCumprod[t], vc, vu)
        }
        /// x_s = α_s·ρ·D + σ_s·(x − α_t·D)/σ_t
        func step(_ x: Tensor, _ d: Tensor, from at: Float, to aS: Float, rho: Double = 1) -> Tensor {
            d * Float(alpha(aS) * rho - sigma(aS) * alpha(at) / sigma(at)) + x * Float(sigma(aS) / sigma(at))
        }

        var x = try noise.next(shape)
        var previous: (x0: Tensor, h: Double)?
        for i in 0..<tau.count {
            try observer.checkCancelled()
            let k = tau.count - 1 - i
            let t = tau[k]
            let (x0, vc, vu) = try predict(x, t)
            let aT = acp[t], aS = k > 0 ? acp[tau[k - 1]] : acp[0]
            let h = lambda(aS) - lambda(aT)
            let rho = Double((scales?[tau[max(k - 1, 0)]] ?? 1) / (scales?[t] ?? 1))
            var d = x0
            if k == 0 {
                // Midpoint in λ, at the nearest integer timestep strictly between.
                let target = lambda(aT) + h / 2
                if midpointFinalStep, t > 1, let m = (1..<t).min(by: { abs(lambda(acp[$0]) - target) < abs(lambda(acp[$1]) - target) }) {
                    let r = (lambda(acp[m]) - lambda(aT)) / h
                    let (x0m, _, _) = try predict(step(x, x0, from: aT, to: acp[m]), m)
                    d = x0 * Float(1 - 1 / (2 * r)) + x0m * Float(1 / (2 * r))
                }
            } else if let p = previous, p.h.isFinite, h.isFinite {
                let c = h / (2 * p.h)
                d = x0 * Float(1 + c) - p.x0 * Float(c)
            }
            let xs = step(x, d, from: aT, to: aS, rho: rho)
            observer.trace?(StepTrace(step: i, timestep: t, vCond: vc, vUncond: vu, predX0: d, xPrev: xs))
            previous = (x0, h)
            x = xs
            observer.progress?(i + 1, tau.count)
        }
        return x
    }
}
