import Foundation
import TCCore

/// How S sampling steps are placed among the DDPM timesteps (`make_ddim_timesteps`).
public enum TimestepSpacing: String, Sendable, CaseIterable {
    /// round(flip(arange(T, 0, −T/S))) − 1: S = 50 → 19, 39, …, 999 (the CLI's choice, spec §1.10).
    case uniformTrailing = "uniform_trailing"
    /// range(0, T, T // S) + 1 (the reference's default, used by Gradio at latent width 32).
    case uniform

    /// Ascending timesteps.
    public func timesteps(steps: Int, trainingSteps n: Int = 1000) throws -> [Int] {
        guard steps > 0, steps <= n else {
            throw ModelInputError.invalid(argument: "steps", reason: "must be in 1...\(n), got \(steps)")
        }
        switch self {
        case .uniformTrailing:
            let c = Double(n) / Double(steps)
            // numpy.arange(n, 0, -c): ceil(n / c) values n − i·c.
            let count = Int((Double(-n) / -c).rounded(.up))
            return (0..<count).map { i in Int((Double(n) + Double(i) * -c).rounded(.toNearestOrEven)) - 1 }.reversed()
        case .uniform:
            let c = n / steps
            return stride(from: 0, to: n, by: c).map { $0 + 1 }
        }
    }
}
