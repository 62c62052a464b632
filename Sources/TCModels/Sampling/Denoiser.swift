import TCCore

/// What a sampler asks of the model once per step: the v-prediction of the conditional branch and,
/// with classifier-free guidance, of the unconditional one. x is (B, 4, T, h, w).
public protocol GuidedDenoiser: AnyObject {
    func predict(_ x: Tensor, timestep: Int) throws -> (cond: Tensor, uncond: Tensor?)
}

/// Supplies ControlNet residuals for one batched UNet call (the sketch encoder, fixture j).
public protocol ControlProvider: AnyObject {
    /// `noisy` (N, 4, T, h, w) are the noisy latents of the call (without c_concat), the
    /// conditional videos first, then the unconditional ones when guidance is on; each branch's
    /// residuals must come from that branch's context. Returns `DynamiCrafterUNet.controlCount` raw
    /// residuals (N·T, C_i, h_i, w_i).
    func residuals(noisy: Tensor, timestep: Int) throws -> [Tensor]
}

/// The ToonCrafter denoiser: UNet(cat(x, c_concat), t, context, fs), with both guidance branches
/// run as ONE batch (exact: every op is per sample) and the cross-attention keys and values of
/// both contexts projected once for the whole run (spec §5.3).
public final class UNetDenoiser: GuidedDenoiser {
    public let unet: DynamiCrafterUNet
    public let concat: Tensor
    public let fs: [Int]
    public let guided: Bool
    public var control: ControlProvider?
    public var controlScale: Float = 1
    let context: UNetContext

    /// `concat` (B, 4, T, h, w) keyframe latents, shared by both branches (Q8); `context` and
    /// `unconditionalContext` (B, L, context_dim). Without an unconditional context no guidance runs.
    public convenience init(unet: DynamiCrafterUNet, concat: Tensor, context: Tensor, unconditionalContext: Tensor?,
                            fs: Int) throws {
        if let uc = unconditionalContext, uc.shape != context.shape {
            throw ModelInputError.shape(argument: "unconditional context", expected: "\(context.shape)", got: uc.shape)
        }
        let frames = concat.rank == 5 ? concat.dim(2) : 0
        try self.init(unet: unet, concat: concat, context: try unet.prepare(context: context, frames: frames),
                      unconditional: try unconditionalContext.map { try unet.prepare(context: $0, frames: frames) }, fs: fs)
    }

    /// The same with contexts already projected by `unet.prepare`; the unconditional one does not
    /// depend on the input (spec §1.8), so a caller may prepare it once and reuse it across runs.
    public init(unet: DynamiCrafterUNet, concat: Tensor, context: UNetContext, unconditional: UNetContext?,
                fs: Int) throws {
        guard concat.rank == 5, concat.dim(0) == context.batch, concat.dim(2) == context.frames else {
            throw ModelInputError.shape(argument: "c_concat", expected: "(\(context.batch), C, \(context.frames), h, w)", got: concat.shape)
        }
        self.unet = unet
        self.concat = concat
        guided = unconditional != nil
        self.context = try unconditional.map { try UNetContext.batched([context, $0]) } ?? context
        self.fs = Array(repeating: fs, count: self.context.batch)
    }

    public func predict(_ x: Tensor, timestep: Int) throws -> (cond: Tensor, uncond: Tensor?) {
        guard x.rank == 5, x.dim(0) == concat.dim(0), x.dim(2) == concat.dim(2),
              x.dim(3) == concat.dim(3), x.dim(4) == concat.dim(4) else {
            throw ModelInputError.shape(argument: "x", expected: "(\(concat.dim(0)), C, \(concat.dim(2)), \(concat.dim(3)), \(concat.dim(4)))", got: x.shape)
        }
        let noisy = guided ? TCCore.concat([x, x], axis: 0) : x
        let c = guided ? TCCore.concat([concat, concat], axis: 0) : concat
        let residuals = try control?.residuals(noisy: noisy, timestep: timestep)
        let v = try unet(TCCore.concat([noisy, c], axis: 1), timesteps: Array(repeating: timestep, count: context.batch),
                         context: context, fs: fs, control: residuals, controlScale: controlScale)
        guard guided else { return (v, nil) }
        let b = x.dim(0)
        return (v.sliced(axis: 0, 0..<b), v.sliced(axis: 0, b..<(2 * b)))
    }
}
