import Foundation
import Testing
import TCCore
import TCModels

/// Where the shared parity fixtures are: `$TCGRAPH_SHARED/parity` (or `$TCGRAPH_SHARED` itself),
/// else `<repo>/../shared/parity`. Tests that need them are disabled, with this reason shown, in a
/// fresh clone without ../shared.
enum ParityFixtures {
    static let directory: String? = {
        let fm = FileManager.default
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["TCGRAPH_SHARED"], !env.isEmpty {
            candidates += [env + "/parity", env]
        }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(repo.deletingLastPathComponent().appendingPathComponent("shared/parity").path)
        return candidates.first { fm.fileExists(atPath: $0 + "/README.md") }
    }()

    static let missingReason: Comment = "parity fixtures not found: set TCGRAPH_SHARED or place shared/ next to the repository"

    static func available(_ name: String) -> Bool {
        guard let directory else { return false }
        return FileManager.default.fileExists(atPath: "\(directory)/\(name).safetensors")
    }

    static func open(_ name: String) throws -> ParityFixture {
        try ParityFixture(path: "\(directory!)/\(name).safetensors")
    }

    /// Runs a fixture through its registered runner; returns the failing rows as printable lines.
    static func failures(_ name: String) throws -> [String] {
        let results = try ParityRegistry.run(try open(name))
        for r in results {
            print(String(format: "%@ %-36@ max|Δ| %.3e (tol %.3e)  rel %.3e (tol %.3e) %@", name, r.output,
                         r.maxAbsErr, r.tolerance.maxAbs, r.relL2Err, r.tolerance.relL2, r.passed ? "PASS" : "FAIL"))
        }
        return results.filter { !$0.passed }.map { "\($0.output): \($0.problem ?? "max \($0.maxAbsErr) rel \($0.relL2Err)")" }
    }
}
