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
            Known fixtures: \(ParityRegistry.runners.keys.sorted().joined(separator: ", ")).
            """
    )

    @Argument(help: "Fixture files.")
    var files: [String]

    @Flag(name: .long, help: "Print only failing outputs and the summary.")
    var failuresOnly = false

    func run() throws {
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

    private func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
    }

    private func sci(_ v: Double) -> String { v.isNaN ? "—" : String(format: "%.3e", v) }
}
