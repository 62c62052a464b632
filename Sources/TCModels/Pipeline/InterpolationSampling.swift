import TCCore

/// The denoising stage (spec §1.10): the UNet denoiser over the conditioning, sampled with the
/// reference's DDIM (default) or DPM-Solver++(2M).
public struct InterpolationSampling: Sendable, Equatable {
    public enum Solver: String, Sendable, CaseIterable {
        case ddim
        case dpmpp2m
    }

    public var solver = Solver.ddim
    public var steps: Int
    /// DDIM's η (DPM-Solver++ is deterministic and ignores it).
    public var eta: Double
    public var guidance: Guidance
    public var spacing: TimestepSpacing
    /// Frame-rate conditioning (`--frame_stride`, spec §1.9).
    public var fs: Int
    /// Run the conditional and unconditional UNet calls as one batch of two (exact in real
    /// arithmetic, spec §1.8, and faster). False makes the reference's two batch-1 calls, whose
    /// float rounding order the parity fixtures record: at a tiny model's deepest level a GroupNorm
    /// over two pixels acts as a sign function and can amplify rounding differences (see
    /// PipelineParity).
    public var batchedBranches = true

    /// The CLI's settings (spec §1.1) as the model's config states them.
    public init(_ d: ToonCrafterConfig.SamplerDefaults) {
        steps = d.steps
        eta = d.eta
        guidance = Guidance(scale: Float(d.guidanceScale), rescale: Float(d.guidanceRescale))
        spacing = d.spacing
        fs = d.fs
    }

    /// Samples latents (1, embed_dim, T, h, w): `concat` is c_concat (1, embed_dim, T, h, w) (see
    /// `interpolationConcat`), the contexts (1, L, context_dim). x_T and, for DDIM, one draw per
    /// step come from `noise`. `guide` wires extra guidance into the denoiser before sampling, e.g.
    /// sketch control (`UNetDenoiser.guide(with:)`); it needs batched branches.
    public func sample(unet: DynamiCrafterUNet, schedule: NoiseSchedule, context: Tensor, unconditionalContext: Tensor,
                       concat: Tensor, noise: NoiseSource, observer: SamplingObserver = SamplingObserver(),
                       guide: ((UNetDenoiser) throws -> Void)? = nil) throws -> Tensor {
        let guided = guidance.scale != 1
        let denoiser: GuidedDenoiser
        if batchedBranches || !guided {
            let d = try UNetDenoiser(unet: unet, concat: concat, context: context,
                                     unconditionalContext: guided ? unconditionalContext : nil, fs: fs)
            try guide?(d)
            denoiser = d
        } else {
            guard guide == nil else {
                throw ModelInputError.invalid(argument: "guide", reason: "extra guidance runs with batched guidance branches only")
            }
            denoiser = SeparateBranches(
                cond: try UNetDenoiser(unet: unet, concat: concat, context: context, unconditionalContext: nil, fs: fs),
                uncond: try UNetDenoiser(unet: unet, concat: concat, context: unconditionalContext, unconditionalContext: nil, fs: fs))
        }
        switch solver {
        case .ddim:
            var s = DDIMSampler(schedule: schedule)
            s.steps = steps
            s.eta = eta
            s.guidance = guidance
            s.spacing = spacing
            return try s.sample(denoiser, shape: concat.shape, noise: noise, observer: observer)
        case .dpmpp2m:
            var s = DPMSolverSampler(schedule: schedule)
            s.steps = steps
            s.guidance = guidance
            s.spacing = spacing
            return try s.sample(denoiser, shape: concat.shape, noise: noise, observer: observer)
        }
    }
}

/// The two guidance branches as separate batch-1 UNet calls, as the reference's DDIM makes them.
private final class SeparateBranches: GuidedDenoiser {
    let cond: UNetDenoiser, uncond: UNetDenoiser

    init(cond: UNetDenoiser, uncond: UNetDenoiser) {
        self.cond = cond
        self.uncond = uncond
    }

    func predict(_ x: Tensor, timestep: Int) throws -> (cond: Tensor, uncond: Tensor?) {
        (try cond.predict(x, timestep: timestep).cond, try uncond.predict(x, timestep: timestep).cond)
    }
}
