import ArgumentParser
import Foundation
import TCCore
import TCModels

/// `tcgraph parity FILE...`: runs parity fixtures through the real model code (ParityRegistry)
/// and compares every output with the fixture's tolerance rule.
struct ParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Run parity fixtures (../shared/parity/*.safetensors) through the model code.",
        discussion: """
            For each output: max |actual − expected|, relative L2 error, the fixture's tolerances and \
            PASS/FAIL. Exits 1 when any output fails or a fixture cannot be run.
            --precision bf16 runs the model's matrix products in bfloat16 and reports, per output, the \
            deviation from the reference and from this program's float32 path; the fixtures' tolerances \
            are for float32, so exceeding them is reported, not failed.
            Known fixtures: \(ParityRegistry.runners.keys.sorted().joined(separator: ", ")).
            """
    )

    @Argument(help: "Fixture files.")
    var files: [String]

    @Flag(name: .long, help: "Print only failing outputs and the summary.")
    var failuresOnly = false

    @Option(name: .long, help: "Compute precision of the matrix products: f32 (the parity path) or bf16 (a deviation report).")
    var precision: ComputePrecision = .f32

    func run() throws {
        if precision == .bf16 { return try deviationReport() }
        var passed = 0, failed = 0, broken = 0
        for path in files {
            let start = Date()
            do {
                let fixture = try ParityFixture(path: path)
                let results = try ParityRegistry.run(fixture)
                let seconds = Date().timeIntervalSince(start)
                print("\(path)  [\(fixture.name), \(String(format: "%.1f", seconds)) s]")
                if !failuresOnly {
                    print("  " + pad("output", 40) + pad("max|Δ|", 11) + pad("tol", 11) + pad("rel-L2", 11) + pad("tol", 11))
                }
                for r in results {
                    if r.passed { passed += 1 } else { failed += 1 }
                    if failuresOnly && r.passed { continue }
                    let verdict = r.passed ? "PASS" : "FAIL" + (r.problem.map { " (\($0))" } ?? "")
                    print("  " + pad(r.output, 40) + pad(sci(r.maxAbsErr), 11) + pad(sci(r.tolerance.maxAbs), 11)
                          + pad(sci(r.relL2Err), 11) + pad(sci(r.tolerance.relL2), 11) + verdict)
                }
            } catch {
                broken += 1
                print("\(path)  ERROR: \(error)")
            }
        }
        print("summary: \(files.count) fixture(s), \(passed + failed) outputs: \(passed) passed, \(failed) failed"
              + (broken > 0 ? ", \(broken) fixture(s) could not be run" : ""))
        if failed > 0 || broken > 0 { throw ExitCode.failure }
    }

    /// Each fixture under float32 and under bf16: bf16's deviation from the reference and from the
    /// float32 path, next to the fixture's float32 tolerances.
    private func deviationReport() throws {
        if !ComputePrecision.bf16Available {
            print("note: this CPU has no AVX-512 BF16, so bf16 runs in float32 here")
        }
        print("bf16 compute precision; tolerances are the fixtures' float32 ones (over = exceeds them, expected for bf16)")
        var broken = 0
        for path in files {
            do {
                let fixture = try ParityFixture(path: path)
                guard let runner = ParityRegistry.runners[fixture.name] else {
                    throw ValidationError("no runner for fixture '\(fixture.name)'")
                }
                let start = Date()
                let f32 = try runner(fixture)
                let bf16 = try withComputePrecision(.bf16) { try runner(fixture) }
                print("\(path)  [\(fixture.name), \(String(format: "%.1f", Date().timeIntervalSince(start))) s for both]")
                print("  " + pad("output", 40) + pad("max|Δ| ref", 12) + pad("rel-L2 ref", 12) + pad("f32 tol", 20)
                      + pad("max|Δ| f32", 12) + pad("rel-L2 f32", 12))
                for r in try fixture.compare(bf16) {
                    let vsF32 = deviation(bf16[r.output], f32[r.output])
                    let over = r.problem ?? (r.passed ? "" : "over")
                    print("  " + pad(r.output, 40) + pad(sci(r.maxAbsErr), 12) + pad(sci(r.relL2Err), 12)
                          + pad(sci(r.tolerance.maxAbs) + "/" + sci(r.tolerance.relL2), 20)
                          + pad(sci(vsF32.maxAbs), 12) + pad(sci(vsF32.relL2), 12) + over)
                }
            } catch {
                broken += 1
                print("\(path)  ERROR: \(error)")
            }
        }
        if broken > 0 { throw ExitCode.failure }
    }

    private func deviation(_ a: Tensor?, _ b: Tensor?) -> (maxAbs: Double, relL2: Double) {
        guard let a, let b, a.count == b.count else { return (.nan, .nan) }
        let x = a.toArray(), y = b.toArray()
        var maxAbs = 0.0, num = 0.0, den = 0.0
        for i in 0..<x.count {
            let d = Double(x[i]) - Double(y[i])
            maxAbs = max(maxAbs, abs(d))
            num += d * d
            den += Double(y[i]) * Double(y[i])
        }
        return (maxAbs, den > 0 ? (num / den).squareRoot() : num.squareRoot())
    }

    private func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
    }

    private func sci(_ v: Double) -> String { v.isNaN ? "—" : String(format: "%.3e", v) }
}
