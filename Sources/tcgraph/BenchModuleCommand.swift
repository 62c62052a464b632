import ArgumentParser
import Foundation
import TCCore
import TCModels

/// Options shared by the network benches (`tcgraph bench unet|decode|encode|clip|pipeline`).
struct ModuleBenchOptions: ParsableArguments {
    @Option(name: .long, help: "full = the real ToonCrafter 512 config; tiny = the bundled small model's config (quick checks).")
    var size: String = "full"

    @Option(name: .long, help: "Weight storage: f32, f16 (computed in float32), or bf16 (stored and multiplied in bfloat16: ComputePrecision.bf16).")
    var dtype: String = "f32"

    @Option(name: .long, help: "Timed runs after the first (cold) run; the best counts. 0 reports the cold run.")
    var runs: Int?

    @Option(name: .long, help: "Threads for our loops and OpenBLAS (default: TCGRAPH_THREADS or all cores).")
    var threads: Int?

    @Option(name: .long, help: "OpenBLAS kernels: 'keep' (as the process loaded them: by default the widest this CPU runs, see TCGRAPH_OPENBLAS_CORE), 'auto', or an OPENBLAS_CORETYPE name.")
    var openblasCore = "keep"

    @Flag(name: .long, help: "One JSON object per line (sgemm peak, then the module) instead of a table.")
    var json = false

    @Flag(name: .long, help: "Time spent per kind of operation (conv, attention, norm, …) in the best run.")
    var profile = false

    func validate() throws {
        guard BenchSize(rawValue: size) != nil else { throw ValidationError("--size must be full or tiny, got '\(size)'") }
        guard ["f32", "f16", "bf16"].contains(dtype) else { throw ValidationError("--dtype must be f32, f16 or bf16, got '\(dtype)'") }
        if let runs, runs < 0 { throw ValidationError("--runs must be at least 0") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    var benchSize: BenchSize { BenchSize(rawValue: size)! }

    /// Storage of the synthetic weights. bf16 names a compute path, not only a storage format:
    /// bf16 weights are also multiplied in bf16 (`ModuleBench.prepare` sets the precision).
    func weightDType() throws -> DType {
        switch dtype {
        case "f16": return .f16
        case "bf16": return .bf16
        default: return .f32
        }
    }
}

/// What the module benches share: the environment, the sgemm peak, the timing, the report.
enum ModuleBench {
    /// Re-executes with other OpenBLAS kernels if asked, sets the threads, and measures the peak.
    static func prepare(_ o: ModuleBenchOptions) -> BenchmarkMeasurement {
        OpenBLASTuning.select(o.openblasCore)
        if let threads = o.threads { Threading.configure(threads) }
        let peak = KernelBenchmarks.sgemmPeak(repeats: 3)
        // bf16 weights are computed in bf16 (ComputePrecision); the peak above stays OpenBLAS sgemm.
        if o.dtype == "bf16" { ComputePrecision.processDefault = .bf16 }
        // The peak's matrices are gone; what the module holds from here on is its own.
        BlockCache.shared.trim()
        MemoryStats.shared.resetPeak()
        ProcessMemory.resetPeak()
        return peak
    }

    struct Result {
        var module: String
        var shapes: String
        var flops: Double
        var cold: Double
        var times: [Double]
        var setup: Double
        var profile: [OpProfile.Entry]?
        var extra: [String: Any] = [:]

        var best: Double { times.min() ?? cold }
    }

    static func time(_ w: ModuleWorkload, runs: Int, profile: Bool, setup: Double) throws -> Result {
        var r = Result(module: w.module, shapes: w.shapes, flops: w.flops, cold: 0, times: [], setup: setup)
        if profile && runs == 0 { OpProfile.start() }
        r.cold = try seconds(w.run)
        if profile && runs == 0 { r.profile = OpProfile.entries }
        for _ in 0..<runs {
            if profile { OpProfile.start() }
            let s = try seconds(w.run)
            if s < (r.times.min() ?? .infinity), profile { r.profile = OpProfile.entries }
            r.times.append(s)
        }
        OpProfile.stop()
        return r
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    /// Reports against the better of the sgemm peak measured before the module and one measured
    /// again after it: on a shared machine the speed drifts over minutes, and a peak caught in a slow
    /// spell would flatter the module (the fraction can only fall by measuring twice).
    static func report(_ r: Result, peak before: BenchmarkMeasurement, options o: ModuleBenchOptions) {
        let rss = ProcessMemory.peakRSSBytes()
        let after = KernelBenchmarks.sgemmPeak(repeats: 3)
        let peak = after.gflopsPerSecond > before.gflopsPerSecond ? after : before
        let rate = r.flops / r.best / 1e9
        if o.json {
            var fields: [String: Any] = [
                "module": r.module, "implementation": "tcgraph", "threads": Threading.threads, "shapes": r.shapes,
                "size": o.size, "dtype": o.dtype, "openblas_core": openBLASCoreName(),
                "bf16_kernel": ComputePrecision.bf16Kernel,
                "openblas_thread_timeout": ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"] ?? "default",
                "seconds": r.best, "cold_seconds": r.cold, "run_seconds": r.times, "runs": r.times.count,
                "setup_seconds": r.setup, "flops": r.flops, "gflops_per_s": rate, "peak_fraction": rate / peak.gflopsPerSecond,
                "sgemm_peak_gflops_per_s": peak.gflopsPerSecond, "sgemm_peak_before_gflops_per_s": before.gflopsPerSecond,
                "sgemm_peak_after_gflops_per_s": after.gflopsPerSecond, "peak_rss_bytes": rss,
                "peak_tensor_bytes": MemoryStats.shared.peakBytes,
            ]
            if let p = r.profile { fields["profile"] = profileJSON(p, total: r.best, peak: peak) }
            for (k, v) in r.extra { fields[k] = v }
            printJSON(fields)
            return
        }
        print("\(r.module): \(r.shapes), \(o.dtype) weights (\(o.size) size), threads \(Threading.threads), OpenBLAS \(openBLASCoreName())"
              + (o.dtype == "bf16" ? ", bf16 products on \(ComputePrecision.bf16Kernel)" : ""))
        print(String(format: "  sgemm peak %.1f GFLOP/s (before the module %.1f, after it %.1f); weights made in %.1f s (not timed)",
                     peak.gflopsPerSecond, before.gflopsPerSecond, after.gflopsPerSecond, r.setup))
        let runs = r.times.isEmpty ? "" : " (best of \(r.times.count): " + r.times.map { String(format: "%.2f", $0) }.joined(separator: ", ") + ")"
        print(String(format: "  %.2f s%@, cold %.2f s", r.best, runs, r.cold))
        print(String(format: "  %.3f TFLOP → %.1f GFLOP/s = %.0f%% of peak", r.flops / 1e12, rate, 100 * rate / peak.gflopsPerSecond))
        print(String(format: "  peak RSS %.2f GiB (peak live tensors %.2f GiB)", Double(rss) / Double(1 << 30),
                     Double(MemoryStats.shared.peakBytes) / Double(1 << 30)))
        if let p = r.profile { printProfile(p, total: r.best, peak: peak) }
    }

    static func printProfile(_ entries: [OpProfile.Entry], total: Double, peak: BenchmarkMeasurement) {
        print("  where the time goes:")
        print("    " + "op".padding(toLength: 18, withPad: " ", startingAt: 0) + "      s   share   calls  GFLOP/s  of peak")
        var counted = 0.0
        for e in entries.sorted(by: { $0.seconds > $1.seconds }) where e.calls > 0 {
            counted += e.seconds
            let rate = e.flops > 0 ? String(format: "%8.1f %7.0f%%", e.flops / e.seconds / 1e9, 100 * e.flops / e.seconds / 1e9 / peak.gflopsPerSecond) : ""
            print("    " + e.op.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)
                  + String(format: "%7.2f %6.1f%% %7d ", e.seconds, 100 * e.seconds / total, e.calls) + rate)
        }
        print("    " + "other (model code)".padding(toLength: 18, withPad: " ", startingAt: 0)
              + String(format: "%7.2f %6.1f%%", total - counted, 100 * (total - counted) / total))
    }

    static func profileJSON(_ entries: [OpProfile.Entry], total: Double, peak: BenchmarkMeasurement) -> [String: Any] {
        var out: [String: Any] = [:]
        var counted = 0.0
        for e in entries where e.calls > 0 {
            counted += e.seconds
            var f: [String: Any] = ["seconds": e.seconds, "calls": e.calls]
            if e.flops > 0 {
                f["flops"] = e.flops
                f["gflops_per_s"] = e.flops / e.seconds / 1e9
                f["peak_fraction"] = e.flops / e.seconds / 1e9 / peak.gflopsPerSecond
            }
            out[e.op.rawValue] = f
        }
        out["other"] = ["seconds": total - counted]
        return out
    }

    static func printJSON(_ fields: [String: Any]) {
        if let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
    }

    static func printPeak(_ peak: BenchmarkMeasurement, json: Bool) {
        guard json else { return }
        printJSON(["module": "sgemm", "implementation": "tcgraph", "threads": Threading.threads, "shapes": peak.shape,
                   "seconds": peak.seconds, "flops": peak.flops, "gflops_per_s": peak.gflopsPerSecond, "peak_fraction": 1.0,
                   "openblas_core": openBLASCoreName(), "peak_rss_bytes": ProcessMemory.peakRSSBytes()])
    }

    /// Runs a bench; its failures (no bundled model for --size tiny, a model error) exit 70.
    static func guarded(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let e as ValidationError {
            throw e
        } catch let e as ExitCode {
            throw e
        } catch {
            FileHandle.standardError.write(Data("tcgraph: error: \(error)\n".utf8))
            throw ExitStatus.runtime
        }
    }

    /// Builds the module from synthetic weights, times it and prints the report.
    static func run(_ o: ModuleBenchOptions, _ make: (ToonCrafterModel) throws -> ModuleWorkload) throws {
        try guarded { try measure(o, make) }
    }

    private static func measure(_ o: ModuleBenchOptions, _ make: (ToonCrafterModel) throws -> ModuleWorkload) throws {
        let dtype = try o.weightDType()
        let config = try o.benchSize.config()
        let peak = prepare(o)
        printPeak(peak, json: o.json)
        let weights = TimedSyntheticWeights(dtype: dtype)
        let model = try ToonCrafterModel(source: weights, config: config, name: "synthetic \(dtype)")
        let workload = try make(model)
        // The inputs' construction leaves freed temporaries in the block cache: not the module's.
        BlockCache.shared.trim()
        ProcessMemory.resetPeak()
        let result = try time(workload, runs: o.runs ?? 1, profile: o.profile, setup: weights.seconds)
        report(result, peak: peak, options: o)
    }
}

/// Peak resident memory of this process from the kernel (VmHWM), resettable so that a bench
/// reports its module's own peak rather than the sgemm measurement's.
enum ProcessMemory {
    static func peakRSSBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else {
            return KernelBenchmarks.peakRSSBytes()
        }
        return kb * 1024
    }

    /// Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM to the current RSS.
    static func resetPeak() {
        guard let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return }
        h.write(Data("5".utf8))
        try? h.close()
    }
}

extension BenchCommand {
    struct UNet: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unet",
            abstract: "One UNet forward: 16×40×64 latents (full), 333-token context; --batch 2 = both guidance branches.")
        @OptionGroup var options: ModuleBenchOptions
        @Option(name: .long, help: "Videos per forward: 1, or 2 (the conditional and unconditional branch as one batch).")
        var batch = 1

        func validate() throws {
            guard batch == 1 || batch == 2 else { throw ValidationError("--batch must be 1 or 2, got \(batch)") }
        }

        func run() throws { try ModuleBench.run(options) { try ModuleWorkloads.unet($0, batch: batch) } }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One dual-reference decode of 16 frames at 320×512 (full), the Fusion keys/values included.")
        @OptionGroup var options: ModuleBenchOptions
        func run() throws { try ModuleBench.run(options) { try ModuleWorkloads.decode($0) } }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The VAE encoder on the two keyframes, with the decoder's reference taps.")
        @OptionGroup var options: ModuleBenchOptions
        func run() throws { try ModuleBench.run(options) { try ModuleWorkloads.encode($0) } }
    }

    struct CLIP: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clip",
            abstract: "The CLIP vision tower on one keyframe (with its preprocessing) and the text tower on one prompt.")
        @OptionGroup var options: ModuleBenchOptions
        func run() throws { try ModuleBench.run(options) { try ModuleWorkloads.clip($0) } }
    }

    struct Pipeline: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The whole interpolation: two keyframes → conditioning → denoising → decoding (with the middle re-decode).",
            discussion: "Reports each stage and the time per denoising step, and extrapolates the denoising time to "
                + "--estimate-steps from the measured steps (labelled as an extrapolation). Default: one cold run.")
        @OptionGroup var options: ModuleBenchOptions
        @Option(name: .long, help: "Denoising steps to run.")
        var steps = 50
        @Option(name: .long, help: "Sampler: \(InterpolationSampling.Solver.allCases.map(\.rawValue).joined(separator: " or ")).")
        var solver = "ddim"
        @Option(name: .long, help: "Also extrapolate the end-to-end time to this many steps (default: --steps).")
        var estimateSteps: Int?

        func validate() throws {
            guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
            guard InterpolationSampling.Solver(rawValue: solver) != nil else {
                throw ValidationError("--solver must be \(InterpolationSampling.Solver.allCases.map(\.rawValue).joined(separator: " or ")), got '\(solver)'")
            }
            if let estimateSteps, estimateSteps < 1 { throw ValidationError("--estimate-steps must be at least 1") }
        }

        func run() throws { try ModuleBench.guarded(measure) }

        private func measure() throws {
            let o = options
            let dtype = try o.weightDType()
            let config = try o.benchSize.config()
            let peak = ModuleBench.prepare(o)
            ModuleBench.printPeak(peak, json: o.json)
            let solver = InterpolationSampling.Solver(rawValue: self.solver)!
            var timed: [PipelineTimings] = []
            var profile: [OpProfile.Entry]?
            for _ in 0...(o.runs ?? 0) {
                if o.profile { OpProfile.start() }
                let t = try PipelineBench.run(config: config, weights: TimedSyntheticWeights(dtype: dtype), steps: steps, solver: solver)
                if o.profile, t.total <= (timed.dropFirst().map(\.total).min() ?? .infinity) { profile = OpProfile.entries }
                timed.append(t)
            }
            OpProfile.stop()
            let cold = timed[0].total
            let all = timed.dropFirst().map(\.total)
            let t = timed.dropFirst().min(by: { $0.total < $1.total }) ?? timed[0]
            let target = estimateSteps ?? steps
            let estimate = t.conditioning + t.denoisingEstimate(steps: target) + t.decoding
            let meanStep = t.stepSeconds.count > 1 ? t.stepSeconds.dropFirst().reduce(0, +) / Double(t.stepSeconds.count - 1)
                : (t.stepSeconds.first ?? 0)
            var r = ModuleBench.Result(module: "pipeline", shapes: "\(config.frames) frames \(config.height)x\(config.width), "
                                       + "\(solver.rawValue) \(steps) steps", flops: t.flops, cold: cold, times: all,
                                       setup: t.weights, profile: profile)
            r.extra = ["steps": steps, "solver": solver.rawValue, "conditioning_seconds": t.conditioning,
                       "denoising_seconds": t.denoising, "decoding_seconds": t.decoding, "step_seconds": t.stepSeconds,
                       "mean_step_seconds": meanStep, "estimate_steps": target, "estimated_seconds": estimate,
                       "estimate_is_extrapolation": target > steps]
            ModuleBench.report(r, peak: peak, options: o)
            if !o.json {
                print(String(format: "  conditioning %.2f s, denoising %.2f s (%d steps, %.2f s per step after the first), decoding %.2f s",
                             t.conditioning, t.denoising, steps, meanStep, t.decoding))
                if target != steps {
                    print(String(format: "  %@ %d steps: %.1f s end to end", target > steps ? "EXTRAPOLATED to" : "estimated for", target, estimate))
                }
            }
        }
    }
}
