import Foundation
import XCTest

/// `tcgraph bench <module>`: argument handling and the JSON lines scripts read, at the bundled
/// small model's size (seconds, not a timing test: no assertion on speed).
final class BenchCommandTests: XCTestCase {
    func bench(_ args: [String]) throws -> Fixture.Output {
        try Fixture.tcgraph(["bench"] + args, cwd: Fixture.repo, environment: ["TCGRAPH_THREADS": "2"])
    }

    func jsonLines(_ out: Fixture.Output) throws -> [[String: Any]] {
        try out.stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0))
        }
    }

    func testModuleJSONLines() throws {
        for (args, module) in [(["unet", "--batch", "2"], "unet_b2"), (["encode"], "encode"), (["clip"], "clip"),
                               (["unet", "--dtype", "f16"], "unet")] {
            let out = try bench(args + ["--size", "tiny", "--json", "--runs", "2", "--profile"])
            XCTAssertEqual(out.status, 0, out.stderr)
            let lines = try jsonLines(out)
            XCTAssertEqual(lines.map { $0["module"] as? String }, ["sgemm", module], out.stdout)
            let m = lines[1]
            for key in ["seconds", "cold_seconds", "gflops_per_s", "peak_fraction", "flops", "sgemm_peak_gflops_per_s"] {
                XCTAssertGreaterThan(try XCTUnwrap(m[key] as? Double, key), 0, key)
            }
            XCTAssertGreaterThan(try XCTUnwrap(m["peak_rss_bytes"] as? Int), 1 << 20)
            XCTAssertEqual((m["run_seconds"] as? [Double])?.count, 2)
            XCTAssertEqual(m["seconds"] as? Double, (m["run_seconds"] as? [Double])?.min())
            XCTAssertEqual(m["dtype"] as? String, args.contains("f16") ? "f16" : "f32")
            let profile = try XCTUnwrap(m["profile"] as? [String: Any])
            XCTAssertNotNil(profile["conv2d"], "\(profile.keys)")
        }
    }

    func testPipelineReportsStagesAndLabelsTheExtrapolation() throws {
        let out = try bench(["pipeline", "--size", "tiny", "--steps", "2", "--solver", "dpmpp2m", "--estimate-steps", "10", "--json"])
        XCTAssertEqual(out.status, 0, out.stderr)
        let m = try XCTUnwrap(try jsonLines(out).last)
        XCTAssertEqual(m["module"] as? String, "pipeline")
        XCTAssertEqual(m["solver"] as? String, "dpmpp2m")
        XCTAssertEqual((m["step_seconds"] as? [Double])?.count, 2)
        XCTAssertEqual(m["estimate_is_extrapolation"] as? Bool, true)
        for key in ["conditioning_seconds", "denoising_seconds", "decoding_seconds", "estimated_seconds"] {
            XCTAssertGreaterThan(try XCTUnwrap(m[key] as? Double, key), 0, key)
        }
    }

    /// A row per DPM-Solver++ step count, its distance from DDIM and from the converged ODE
    /// solution; more steps come closer to the converged solution.
    func testSolversComparesStepCountsWithDDIMAndTheODE() throws {
        let fixture = "\(Fixture.repo)/models/tcgraph-tiny/pipeline_small.safetensors"
        guard FileManager.default.fileExists(atPath: fixture) else { throw XCTSkip("\(fixture) is not in this checkout") }
        let out = try bench(["solvers", "--steps", "2", "8", "--reference-steps", "4", "--converged-steps", "32"])
        XCTAssertEqual(out.status, 0, out.stderr)
        let rows = out.stdout.split(separator: "\n").filter { $0.hasPrefix("dpmpp2m") }
            .map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        XCTAssertEqual(rows.map { $0[1] }, ["2", "8"], out.stdout)
        guard rows.count == 2 else { return }
        let odeError = try rows.map { try XCTUnwrap(Double($0.last!), out.stdout) }
        XCTAssertLessThan(odeError[1], odeError[0], out.stdout)
        XCTAssertTrue(out.stdout.contains("ODE solution: DPM-Solver++ 32 steps; DDIM 4 is off it by"), out.stdout)
    }

    func testBadArgumentsAreUsageErrors() throws {
        for (args, message) in [(["unet", "--size", "huge"], "--size must be full or tiny"),
                                (["unet", "--batch", "3"], "--batch must be 1 or 2"),
                                (["decode", "--dtype", "f8"], "--dtype must be f32, f16 or bf16"),
                                (["encode", "--runs=-1"], "--runs must be at least 0"),
                                (["pipeline", "--solver", "euler"], "--solver must be ddim or dpmpp2m")] {
            let out = try bench(args)
            XCTAssertEqual(out.status, 64, "\(args)")
            XCTAssertTrue(out.stderr.contains(message), out.stderr)
        }
        let help = try bench(["--help"])
        for module in ["unet", "decode", "encode", "clip", "pipeline", "kernels"] {
            XCTAssertTrue(help.stdout.contains("  \(module)"), help.stdout)
        }
    }
}
