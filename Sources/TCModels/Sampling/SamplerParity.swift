import TCCore

/// Parity runner for fixture (g) `ddim_sample`: the schedule, the per-step coefficients and the
/// whole DDIM loop with the fixture's recorded noise.
enum SamplerParity {
    static func ddimSample(_ f: ParityFixture) throws -> [String: Tensor] {
        let unet = try UNetParity.load(f)
        let schedule = NoiseSchedule(try NoiseSchedule.Parameters(try f.config.dict("model_config_params")))
        var sampler = DDIMSampler(schedule: schedule)
        sampler.steps = try f.config.int("steps")
        sampler.eta = try f.config.double("eta")
        sampler.guidance = Guidance(scale: Float(try f.config.double("unconditional_guidance_scale")),
                                    rescale: Float(try f.config.double("guidance_rescale")))
        let spacing = try f.config.string("timestep_spacing")
        guard let s = TimestepSpacing(rawValue: spacing) else {
            throw ConfigError.invalid(path: "\(f.path):config.timestep_spacing", reason: "unknown spacing '\(spacing)'")
        }
        sampler.spacing = s

        let concat = try f.input("c_concat")
        let denoiser = try UNetDenoiser(unet: unet, concat: concat, context: try f.input("c_crossattn"),
                                        unconditionalContext: sampler.guidance.scale == 1 ? nil : try f.input("uc_crossattn"),
                                        fs: try f.input("fs").toInts()[0])
        let names = ["x_T"] + (0..<sampler.steps).map { "step\($0)" }
        let noise = RecordedNoise(try names.map { try f.input("noise.\($0)") })
        var out: [String: Tensor] = [:]
        out["samples"] = try sampler.sample(denoiser, shape: concat.shape, noise: noise, observer: SamplingObserver(trace: { t in
            out["step\(t.step).v_cond"] = t.vCond
            out["step\(t.step).v_uncond"] = t.vUncond
            out["step\(t.step).pred_x0"] = t.predX0
            out["step\(t.step).x_prev"] = t.xPrev
        }))

        out.merge(try sampler.parityScheduleOutputs(), uniquingKeysWith: { $1 })
        return out
    }
}

extension DDIMSampler {
    /// The schedule and per-step coefficients under the names the fixtures record them
    /// (`ddim_sample`, `pipeline_tiny`): `schedule.*` in float32 and `schedule64.*` in float64.
    func parityScheduleOutputs() throws -> [String: Tensor] {
        let plan = try plan()
        let tau = try spacing.timesteps(steps: steps, trainingSteps: schedule.timesteps)
        var out: [String: Tensor] = [
            "schedule.ddim_timesteps": Tensor(ints: tau, [tau.count]),
            "schedule.step_timesteps": Tensor(ints: plan.map(\.timestep), [plan.count]),
        ]
        for (name, values) in [("a_t", plan.map(\.aT)), ("a_prev", plan.map(\.aPrev)), ("sigma_t", plan.map(\.sigma)),
                               ("scale_t", plan.map(\.scale)), ("prev_scale_t", plan.map(\.prevScale)),
                               ("betas", schedule.betas), ("alphas_cumprod", schedule.alphasCumprod),
                               ("alphas_cumprod_prev", schedule.alphasCumprodPrev),
                               ("sqrt_alphas_cumprod", schedule.sqrtAlphasCumprod),
                               ("sqrt_one_minus_alphas_cumprod", schedule.sqrtOneMinusAlphasCumprod),
                               ("scale_arr", schedule.scaleArr ?? [])] {
            out["schedule.\(name)"] = Tensor(values, [values.count])
        }
        for (name, values) in [("betas", schedule.betas64), ("alphas_cumprod", schedule.alphasCumprod64)] {
            let t = Tensor(empty: [values.count], dtype: .f64)
            values.withUnsafeBufferPointer { t.typedPointer(Double.self).update(from: $0.baseAddress!, count: values.count) }
            out["schedule64.\(name)"] = t
        }
        return out
    }
}
