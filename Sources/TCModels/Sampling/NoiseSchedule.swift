import Foundation
import TCCore

/// The DDPM schedule of the reference (spec §1.10): betas linear in √β, rescaled to zero terminal
/// SNR, computed in float64 and stored as float32 buffers; plus the dynamic-rescale table
/// `scale_arr`. The float64 recomputation is kept for checks against a checkpoint's buffers.
public struct NoiseSchedule: Sendable {
    public let timesteps: Int
    /// Float64 recomputation from the config.
    public let betas64: [Double]
    public let alphasCumprod64: [Double]
    /// The float32 buffers the sampler uses (the checkpoint's own when it has them).
    public let betas: [Float]
    public let alphasCumprod: [Float]
    public let alphasCumprodPrev: [Float]
    public let sqrtAlphasCumprod: [Float]
    public let sqrtOneMinusAlphasCumprod: [Float]
    /// `scale_arr` (timesteps + turning_step entries) when dynamic rescale is on.
    public let scaleArr: [Float]?

    public struct Parameters: Equatable, Sendable {
        public var timesteps = 1000
        public var linearStart = 0.00085
        public var linearEnd = 0.012
        public var zeroTerminalSNR = true
        public var dynamicRescale = true
        public var baseScale = 0.7
        public var turningStep = 400

        public init() {}

        /// From the official `model.params` (as in a fixture's `model_config_params`).
        public init(_ c: ConfigDict) throws {
            timesteps = try c.int("timesteps", default: 1000)
            linearStart = try c.double("linear_start", default: 1e-4)
            linearEnd = try c.double("linear_end", default: 2e-2)
            zeroTerminalSNR = try c.bool("rescale_betas_zero_snr", default: false)
            dynamicRescale = try c.bool("use_dynamic_rescale", default: false)
            baseScale = try c.double("base_scale", default: 0.7)
            turningStep = try c.int("turning_step", default: 400)
            let schedule = try c.string("beta_schedule", default: "linear")
            guard schedule == "linear" else {
                throw ConfigError.invalid(path: "\(c.path).beta_schedule", reason: "only 'linear' is supported, got '\(schedule)'")
            }
            guard try c.string("parameterization", default: "eps") == "v" else {
                throw ConfigError.invalid(path: "\(c.path).parameterization", reason: "the samplers implement v-prediction only")
            }
            guard timesteps > 1 else { throw ConfigError.invalid(path: "\(c.path).timesteps", reason: "must be > 1") }
        }
    }

    public init(_ p: Parameters = Parameters()) {
        timesteps = p.timesteps
        var betas = torchLinspace(p.linearStart.squareRoot(), p.linearEnd.squareRoot(), p.timesteps).map { $0 * $0 }
        if p.zeroTerminalSNR { betas = rescaleZeroTerminalSNR(betas) }
        var acp = [Double](repeating: 0, count: betas.count)
        var prod = 1.0
        for (i, b) in betas.enumerated() {
            prod *= 1 - b
            acp[i] = prod
        }
        betas64 = betas
        alphasCumprod64 = acp
        self.betas = betas.map { Float($0) }
        alphasCumprod = acp.map { Float($0) }
        alphasCumprodPrev = ([1.0] + acp.dropLast()).map { Float($0) }
        sqrtAlphasCumprod = acp.map { Float($0.squareRoot()) }
        sqrtOneMinusAlphasCumprod = acp.map { Float((1 - $0).squareRoot()) }
        scaleArr = p.dynamicRescale
            ? (numpyLinspace(1.0, p.baseScale, p.turningStep) + Array(repeating: p.baseScale, count: p.timesteps)).map { Float($0) }
            : nil
    }

    private init(copying s: NoiseSchedule, betas: [Float], alphasCumprod: [Float], alphasCumprodPrev: [Float],
                 sqrtAlphasCumprod: [Float], sqrtOneMinusAlphasCumprod: [Float], scaleArr: [Float]?) {
        timesteps = s.timesteps
        betas64 = s.betas64
        alphasCumprod64 = s.alphasCumprod64
        self.betas = betas
        self.alphasCumprod = alphasCumprod
        self.alphasCumprodPrev = alphasCumprodPrev
        self.sqrtAlphasCumprod = sqrtAlphasCumprod
        self.sqrtOneMinusAlphasCumprod = sqrtOneMinusAlphasCumprod
        self.scaleArr = scaleArr
    }

    /// The buffer names of the official checkpoint (top-level keys, spec §3.2).
    public static let bufferKeys = ["betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
                                    "sqrt_one_minus_alphas_cumprod", "scale_arr"]

    /// The schedule with the checkpoint's stored buffers, which the reference's strict load makes
    /// authoritative (Q26). Buffers that differ from the recomputation by more than float32
    /// rounding are reported in `warnings`; absent buffers keep the recomputed values.
    public func overridden(by source: TensorSource, prefix: String = "") throws -> (NoiseSchedule, warnings: [String]) {
        var warnings: [String] = []
        func buffer(_ name: String, _ mine: [Float]?) throws -> [Float]? {
            let key = prefix + name
            guard source.contains(key) else { return mine }
            let stored = try source.tensor(key).toArray()
            guard let mine else { return stored }
            guard stored.count == mine.count else {
                throw WeightError.shapeMismatch(file: source.sourceName, key: key, expected: [mine.count], got: [stored.count])
            }
            let worst = zip(stored, mine).map { abs(Double($0) - Double($1)) / max(abs(Double($1)), 1e-6) }.max() ?? 0
            if worst > 1e-5 {
                warnings.append("\(source.sourceName): buffer '\(key)' differs from the schedule the config implies (max relative difference \(worst)); using the stored values")
            }
            return stored
        }
        let s = NoiseSchedule(copying: self,
                              betas: try buffer("betas", betas)!,
                              alphasCumprod: try buffer("alphas_cumprod", alphasCumprod)!,
                              alphasCumprodPrev: try buffer("alphas_cumprod_prev", alphasCumprodPrev)!,
                              sqrtAlphasCumprod: try buffer("sqrt_alphas_cumprod", sqrtAlphasCumprod)!,
                              sqrtOneMinusAlphasCumprod: try buffer("sqrt_one_minus_alphas_cumprod", sqrtOneMinusAlphasCumprod)!,
                              scaleArr: scaleArr == nil ? nil : try buffer("scale_arr", scaleArr))
        return (s, warnings)
    }
}

/// torch.linspace in float64: the first half counts up from `start`, the second down from `end`.
func torchLinspace(_ start: Double, _ end: Double, _ n: Int) -> [Double] {
    guard n > 1 else { return [start] }
    let step = (end - start) / Double(n - 1)
    let half = n / 2
    return (0..<n).map { i in i < half ? start + step * Double(i) : end - step * Double(n - 1 - i) }
}

/// numpy.linspace: i·step + start, with the last entry set to `end`.
func numpyLinspace(_ start: Double, _ end: Double, _ n: Int) -> [Double] {
    guard n > 1 else { return n == 1 ? [start] : [] }
    let step = (end - start) / Double(n - 1)
    var y = (0..<n).map { Double($0) * step + start }
    y[n - 1] = end
    return y
}

/// Lin et al. 2023, Algorithm 1 (the reference's `rescale_zero_terminal_snr`), in float64.
func rescaleZeroTerminalSNR(_ betas: [Double]) -> [Double] {
    var prod = 1.0
    var s = betas.map { b -> Double in
        prod *= 1 - b
        return prod.squareRoot()
    }
    let s0 = s[0], sT = s[s.count - 1]
    for i in s.indices {
        s[i] -= sT
        s[i] *= s0 / (s0 - sT)
    }
    let acp = s.map { $0 * $0 }
    var alphas = [acp[0]]
    for i in 1..<acp.count { alphas.append(acp[i] / acp[i - 1]) }
    return alphas.map { 1 - $0 }
}
