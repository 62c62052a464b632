import Foundation
import TCCore

/// The reference's DDIM loop for v-prediction (spec §1.10, `lvdm/models/samplers/ddim.py`):
/// uniform_trailing timesteps, η-stochastic steps with noise at every step including the last
/// (Q10), classifier-free guidance with rescale, and the dynamic x̂₀ rescale (Q9).
public struct DDIMSampler {
    public var schedule: NoiseSchedule
    public var steps = 50
    public var spacing = TimestepSpacing.uniformTrailing
    public var eta = 1.0
    public var guidance = Guidance()
    /// Multiply x̂₀ by scale_arr[next]/scale_arr[t] (when the schedule has `scale_arr`).
    public var dynamicRescale = true
    /// Q13 (MAY FIX): clamp 1 − a_prev − σ² at 0 before its square root. Off = the reference, which
    /// relies on float32 rounding at t = 999.
    public var clampDirection = false

    public init(schedule: NoiseSchedule) { self.schedule = schedule }

    /// Float32 coefficients of one step, as the reference computes them (Appendix A).
    public struct Coefficients: Equatable {
        public let timestep: Int
        public let aT: Float, aPrev: Float, sigma: Float
        public let scale: Float, prevScale: Float
    }

    /// The steps in execution order (t descending).
    public func plan() throws -> [Coefficients] {
        let tau = try spacing.timesteps(steps: steps, trainingSteps: schedule.timesteps)
        let acp = schedule.alphasCumprod
        let scales = dynamicRescale ? schedule.scaleArr : nil
        var out: [Coefficients] = []
        for k in stride(from: tau.count - 1, through: 0, by: -1) {
            let aT = acp[tau[k]]
            let aPrev64 = Double(k > 0 ? acp[tau[k - 1]] : acp[0])
            // Reference: numpy float64 meets a float32 tensor: (1 − a_prev) / (1 − a_t) runs as
            // torch's __rtruediv__, i.e. a float32 reciprocal of (1 − a_t) times the float64 value.
            let reciprocal = Double(1 / (1 - aT))
            let sigma = eta * (reciprocal * (1 - aPrev64) * (1 - Double(aT) / aPrev64)).squareRoot()
            let scale = scales?[tau[k]] ?? 1
            let prevScale = scales?[tau[max(k - 1, 0)]] ?? 1
            out.append(Coefficients(timestep: tau[k], aT: aT, aPrev: Float(aPrev64), sigma: Float(sigma),
                                    scale: scale, prevScale: prevScale))
        }
        return out
    }

    /// Samples latents of `shape` (B, 4, T, h, w), x_T and the per-step noise drawn from `noise`.
    public func sample(_ denoiser: GuidedDenoiser, shape: [Int], noise: NoiseSource,
                       observer: SamplingObserver = SamplingObserver()) throws -> Tensor {
        let plan = try plan()
        var x = try noise.next(shape)
        for (i, c) in plan.enumerated() {
            try observer.checkCancelled()
            let (vc, vu) = try denoiser.predict(x, timestep: c.timestep)
            let v = guidance.combine(cond: vc, uncond: vu)
            let sa = schedule.sqrtAlphasCumprod[c.timestep], so = schedule.sqrtOneMinusAlphasCumprod[c.timestep]
            let e = v * sa + x * so
            let x0 = x * sa - v * so
            if dynamicRescale { x0.mapInPlace { [r = c.prevScale / c.scale] in $0 * r } }
            var d = (1 - c.aPrev) - c.sigma * c.sigma
            if clampDirection { d = max(d, 0) }
            let z = try noise.next(shape)
            let xPrev = x0 * c.aPrev.squareRoot() + e * d.squareRoot() + z * c.sigma
            observer.trace?(StepTrace(step: i, timestep: c.timestep, vCond: vc, vUncond: vu, predX0: x0, xPrev: xPrev))
            x = xPrev
            observer.progress?(i + 1, plan.count)
        }
        return x
    }
}
