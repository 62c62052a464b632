import ArgumentParser
import Foundation
import TCCore
import TCModels

extension BenchCommand {
    /// At how many steps DPM-Solver++(2M) gives DDIM-50's result: both integrate the same
    /// probability-flow ODE, so the reference is the deterministic DDIM (η = 0) from the same x_T.
    /// Runs on a small model (default: the bundled one) with a pipeline fixture's keyframes, prompt,
    /// posterior noise and x_T, and judges with that fixture's tolerances for `samples` and `video`.
    /// Two solvers with different step counts cannot agree to float32 rounding (DDIM-50 has its
    /// own discretisation error), so it also measures both against the ODE's solution (DPM-Solver++
    /// at `--converged-steps`) and names the fewest steps that are at least as accurate as DDIM.
    struct Solvers: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Step count at which DPM-Solver++ matches DDIM-50 (η = 0) within a pipeline fixture's tolerances.",
            discussion: "Not a timing: the deviation of DPM-Solver++(2M) at each --steps count from DDIM with --reference-steps, "
                + "on the latent samples and the decoded video (max |Δ|, relative L2, uint8 max |Δ|).")

        @Option(name: .long, help: "Model file (default: the bundled small model).")
        var model: String?

        @Option(name: .long, help: "Pipeline fixture giving inputs and tolerances (default: models/tcgraph-tiny/pipeline_small.safetensors).")
        var fixture: String?

        @Option(name: .long, parsing: .upToNextOption, help: "DPM-Solver++ step counts to try.")
        var steps: [Int] = [5, 8, 10, 15, 20, 25, 30, 40, 50]

        @Option(name: .long, help: "DDIM steps of the reference.")
        var referenceSteps = 50

        @Option(name: .long, help: "DPM-Solver++ steps taken as the ODE's converged solution.")
        var convergedSteps = 400

        func validate() throws {
            guard !steps.isEmpty, steps.allSatisfy({ $0 >= 1 }), referenceSteps >= 1, convergedSteps >= 1 else {
                throw ValidationError("step counts must be at least 1")
            }
        }

        func run() throws { try ModuleBench.guarded(measure) }

        private func measure() throws {
            guard let modelPath = model ?? ModelFiles.bundledPath else { throw BenchError("no --model and no bundled model") }
            let fixturePath = fixture ?? URL(fileURLWithPath: modelPath).deletingLastPathComponent()
                .appendingPathComponent("pipeline_small.safetensors").path
            let f = try ParityFixture(path: fixturePath)
            let m = try ModelFiles.open(modelPath)
            let c = m.config
            let tol = Dictionary(try f.tolerances(), uniquingKeysWith: { a, _ in a })
            let prompt = try f.config.string("prompt", default: c.sampler.prompt)
            let first = try preprocessKeyframe(f.input("image_first_uint8"), height: c.height, width: c.width, fit: .crop)
            let last = try preprocessKeyframe(f.input("image_last_uint8"), height: c.height, width: c.width, fit: .crop)
            let posterior = try f.input("noise.posterior")
            let t = c.frames
            let cond = try ConditioningEncoder(model: m).encode(first: first, last: last, prompt: prompt,
                                                               posteriorNoise: RecordedNoise([posterior.gather(frames: [0, t - 1])]))
            let xT = try f.input("noise.x_T")
            let (schedule, _) = try m.schedule()
            let unet = try m.unet()
            func sample(_ solver: InterpolationSampling.Solver, _ n: Int) throws -> (Tensor, Tensor) {
                var s = InterpolationSampling(c.sampler)
                s.solver = solver
                s.steps = n
                s.eta = 0  // DDIM still draws a (zero-weighted) noise per step, as the reference does
                let z = try s.sample(unet: unet, schedule: schedule, context: cond.context,
                                     unconditionalContext: cond.unconditionalContext, concat: try cond.concat(frames: t),
                                     noise: RecordedNoise([xT] + Array(repeating: Tensor(zeros: xT.shape), count: solver == .ddim ? n : 0)))
                let video = try InterpolationDecoding().decode(latentFrames(z), references: cond.references, model: m)
                return (z, video)
            }
            let (refZ, refVideo) = try sample(.ddim, referenceSteps)
            let refBytes = try framesToBytes(refVideo)
            let (odeZ, odeVideo) = try sample(.dpmpp2m, convergedSteps)
            let ddimError = ParityError(refZ, odeZ)
            print("model \(m.name) (\(c.height)x\(c.width), \(t) frames); inputs and tolerances of \(f.name)")
            print("reference: DDIM \(referenceSteps) steps, eta 0, same x_T; tolerances: samples "
                  + fmt(tol["samples"]) + ", video " + fmt(tol["video"]))
            print(String(format: "ODE solution: DPM-Solver++ %d steps; DDIM %d is off it by samples relL2 %.2e, video relL2 %.2e",
                         convergedSteps, referenceSteps, ddimError.relL2, ParityError(refVideo, odeVideo).relL2))
            print("solver      steps  samples max|Δ|   relL2    video max|Δ|   relL2   uint8 max|Δ|  within tol  vs ODE relL2")
            var asAccurate: Int?
            for n in steps.sorted() {
                let (z, video) = try sample(.dpmpp2m, n)
                let dz = ParityError(z, refZ), dv = ParityError(video, refVideo), de = ParityError(z, odeZ)
                let bytes = try framesToBytes(video)
                var du = 0
                for i in 0..<bytes.count {
                    du = max(du, abs(Int(bytes.typedPointer(UInt8.self)[i]) - Int(refBytes.typedPointer(UInt8.self)[i])))
                }
                let ok = tol["samples"]?.admits(dz) == true && tol["video"]?.admits(dv) == true
                if asAccurate == nil, de.relL2 <= ddimError.relL2 { asAccurate = n }
                print(String(format: "dpmpp2m    %5d  %14.3e %8.2e  %14.3e %8.2e  %12d  %-10@  %10.2e", n, dz.maxAbs, dz.relL2, dv.maxAbs, dv.relL2, du,
                             ok ? "yes" : "no", de.relL2))
            }
            print(asAccurate.map { "DPM-Solver++ is as close to the ODE's solution as DDIM \(referenceSteps) from \($0) steps" }
                  ?? "no tried DPM-Solver++ step count is as close to the ODE's solution as DDIM \(referenceSteps)")
        }

        private func fmt(_ t: ParityFixture.Tolerance?) -> String {
            t.map { String(format: "max|Δ| ≤ %.2e, relL2 ≤ %.0e", $0.maxAbs, $0.relL2) } ?? "(none)"
        }
    }
}
