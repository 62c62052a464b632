import ArgumentParser
import Foundation
import TCCore

/// `tcgraph bench`: speed as ratios to this machine's own OpenBLAS sgemm peak, measured in the
/// same run (DESIGN §7). Timings are only meaningful on a quiet machine; the load is printed.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark kernels and whole networks at ToonCrafter's real shapes against the measured sgemm peak.",
        discussion: """
            Every run first measures this machine's OpenBLAS sgemm peak; speeds are reported as GFLOP/s \
            and as a fraction of that peak. Networks are built at the real config with random weights \
            in the real layout (no checkpoint needed). Timings need a quiet machine.

            Examples:
              tcgraph bench kernels --only attention_spatial
              tcgraph bench unet --size full --batch 2 --json
              tcgraph bench decode --size full --profile
              tcgraph bench pipeline --size full --dtype f16 --steps 2 --solver ddim
            """,
        subcommands: [Kernels.self, UNet.self, Decode.self, Encode.self, CLIP.self, Pipeline.self, Solvers.self],
        defaultSubcommand: Kernels.self
    )

    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "sgemm peak, then conv, attention, linear and GroupNorm at the UNet/decoder shapes.",
            discussion: "Kernels: \(KernelBenchmarks.all.map(\.name).joined(separator: ", ")). "
                + "Best of --repeat runs after one warm-up run. --json prints one JSON object per line "
                + "(the fields of tools/bench/torch_reference.py)."
        )

        @Option(name: .long, help: "Run only these kernels (repeatable).")
        var only: [String] = []

        @Option(name: .long, help: "Timed runs per kernel (the best counts).")
        var `repeat` = 3

        @Option(name: .long, help: "Threads for our loops and OpenBLAS (default: TCGRAPH_THREADS or all cores).")
        var threads: Int?

        @Flag(name: .long, help: "One JSON object per line instead of a table.")
        var json = false

        @Option(name: .long, help: "OpenBLAS kernels: 'keep' (as the process loaded them: by default the widest this CPU runs, see TCGRAPH_OPENBLAS_CORE), 'auto', or an OPENBLAS_CORETYPE name.")
        var openblasCore = "keep"

        func validate() throws {
            let known = Set(KernelBenchmarks.all.map(\.name))
            for name in only where !known.contains(name) {
                throw ValidationError("unknown kernel '\(name)' (known: \(known.sorted().joined(separator: ", ")))")
            }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
            if `repeat` < 1 { throw ValidationError("--repeat must be at least 1") }
        }

        func run() throws {
            OpenBLASTuning.select(openblasCore)
            if let threads { Threading.configure(threads) }
            let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
                .split(separator: " ").prefix(3).joined(separator: " ") ?? "unknown"
            let peak = KernelBenchmarks.sgemmPeak(repeats: `repeat`)
            let selected = KernelBenchmarks.all.filter { only.isEmpty || only.contains($0.name) }
            if json {
                emit(peak, peak: peak)
            } else {
                print("threads \(Threading.threads), load average \(load) (timings need a quiet machine)")
                print("sgemm peak: \(String(format: "%.1f", peak.gflopsPerSecond)) GFLOP/s (\(peak.shape), "
                      + "\(String(format: "%.1f", peak.flops / peak.cpuSeconds / 1e9)) per CPU-second; OpenBLAS \(openBLASCoreName()); bf16 rows on \(ComputePrecision.bf16Kernel))")
                print(pad("kernel", 20) + pad("shape", 58) + lpad("ms", 9) + lpad("cpu ms", 9) + lpad("GFLOP/s", 9)
                      + lpad("of peak", 8) + lpad("GB/s", 7) + lpad("work MB", 9))
            }
            for b in selected {
                let m = KernelBenchmarks.measure(b, repeats: `repeat`)
                if json { emit(m, peak: peak); continue }
                print(pad(m.name, 20) + pad(m.shape, 58) + lpad(String(format: "%.1f", m.seconds * 1e3), 9)
                      + lpad(String(format: "%.1f", m.cpuSeconds * 1e3), 9) + lpad(String(format: "%.1f", m.gflopsPerSecond), 9)
                      + lpad(String(format: "%.0f%%", 100 * m.gflopsPerSecond / peak.gflopsPerSecond), 8)
                      + lpad(String(format: "%.1f", m.gigabytesPerSecond), 7)
                      + lpad(String(format: "%.0f", Double(m.workingBytes) / 1e6), 9))
            }
            if !json, let better = OpenBLASTuning.recommendedCoreType {
                let pinned = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (pinned by OPENBLAS_CORETYPE=\($0))" } ?? ""
                print("note: this CPU runs OpenBLAS's \(better) (AVX-512) kernels; the loaded \(openBLASCoreName())\(pinned) "
                      + "leave them unused: --openblas-core auto measures with them")
            }
            if !json {
                print("peak RSS: \(String(format: "%.0f", Double(KernelBenchmarks.peakRSSBytes()) / 1e6)) MB")
            }
        }

        private func emit(_ m: BenchmarkMeasurement, peak: BenchmarkMeasurement) {
            let fields: [String: Any] = [
                "module": m.name, "implementation": "tcgraph", "threads": Threading.threads, "shapes": m.shape,
                "seconds": m.seconds, "cpu_seconds": m.cpuSeconds, "runs": m.runs, "flops": m.flops, "gflops_per_s": m.gflopsPerSecond,
                "bytes": m.bytes, "gbytes_per_s": m.gigabytesPerSecond,
                "fraction_of_sgemm_peak": m.gflopsPerSecond / peak.gflopsPerSecond,
                "sgemm_peak_gflops_per_s": peak.gflopsPerSecond, "working_bytes": m.workingBytes,
                "peak_rss_bytes": KernelBenchmarks.peakRSSBytes(),
            ]
            if let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) {
                print(String(decoding: data, as: UTF8.self))
            }
        }

        private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        private func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s }
    }
}
