import Foundation
import TCCore
import TCModels

/// Locates ../shared/parity (next to the repository, or `TCGRAPH_SHARED`) for the parity tests of the
/// VAE, CLIP and Resampler; tests skip when it is absent (a fresh clone).
enum SharedFixtures {
    static let directory: URL? = {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["TCGRAPH_SHARED"] {
            candidates.append(URL(fileURLWithPath: env).appendingPathComponent("parity"))
            candidates.append(URL(fileURLWithPath: env))
        }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(repo.deletingLastPathComponent().appendingPathComponent("shared/parity"))
        return candidates.first {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("README.md").path)
        }
    }()

    static func available(_ name: String) -> Bool { url(name) != nil }

    static func url(_ name: String) -> URL? {
        guard let d = directory else { return nil }
        let u = d.appendingPathComponent("\(name).safetensors")
        return FileManager.default.fileExists(atPath: u.path) ? u : nil
    }

    /// Runs fixture `name` through the registry; returns the per-output results, printed as a table.
    static func run(_ name: String) throws -> [ParityResult] {
        let fixture = try ParityFixture(path: url(name)!.path)
        let results = try ParityRegistry.run(fixture)
        for r in results {
            print(String(format: "%@ %-28@ max_abs %.3e (tol %.3e)  rel_l2 %.3e (tol %.3e)  %@", name, r.output,
                         r.maxAbsErr, r.tolerance.maxAbs, r.relL2Err, r.tolerance.relL2,
                         r.passed ? "PASS" : "FAIL \(r.problem ?? "")"))
        }
        return results
    }
}
