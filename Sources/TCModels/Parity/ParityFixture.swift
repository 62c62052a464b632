import Foundation
import TCCore

/// A parity fixture from the official PyTorch implementation (../shared/parity, README there):
/// weights under real checkpoint keys, `input.*`, expected `output.*`, and per-output tolerances.
public final class ParityFixture {
    public let path: String
    public let file: SafeTensorsFile
    public let meta: ConfigDict
    /// `fixture` field of the metadata, e.g. "unet_step".
    public let name: String
    public let config: ConfigDict

    public init(path: String) throws {
        self.path = path
        file = try SafeTensorsFile(path: path)
        guard let json = file.metadata["fixture"] else {
            throw ConfigError.invalid(path: path, reason: "no __metadata__.fixture entry: not a parity fixture")
        }
        meta = try ConfigDict(json: json, path: "\(URL(fileURLWithPath: path).lastPathComponent):fixture")
        name = try meta.string("fixture")
        config = try meta.dict("config")
    }

    /// The fixture's weights, read by their checkpoint keys (the same loading code as a real checkpoint).
    public var weights: WeightReader { WeightReader(file) }

    public func input(_ name: String) throws -> Tensor { try file.tensor("input.\(name)") }
    public func expected(_ name: String) throws -> Tensor { try file.tensor("output.\(name)") }

    public struct Tolerance {
        public let maxAbs: Double, relL2: Double

        public func admits(_ e: ParityError) -> Bool { e.maxAbs <= maxAbs && e.relL2 <= relL2 }
    }

    /// Every expected output (without the `output.` prefix) with its tolerance. Outputs without a
    /// tolerance entry follow the fixture README: integer ids must match exactly, uint8 images may
    /// differ by 1 (float rounding can cross an integer before truncation), and float schedule
    /// values must agree to float32 rounding.
    public func tolerances() throws -> [(String, Tolerance)] {
        let tol = try meta.dict("tolerance")
        let outputs = file.keys.filter { $0.hasPrefix("output.") }.sorted(by: ParityFixture.naturalOrder)
        return try outputs.map { key in
            let name = String(key.dropFirst(7))
            if tol.has(key) {
                let t = try tol.dict(key)
                return (name, Tolerance(maxAbs: try t.double("max_abs_err"), relL2: try t.double("rel_l2_err")))
            }
            switch file.entries[key]!.dtype {
            case .i64, .i32: return (name, Tolerance(maxAbs: 0, relL2: 0))
            case .u8: return (name, Tolerance(maxAbs: 1, relL2: 0.02))
            default:
                let scale = max(1, Double(try file.tensor(key).float32().maxAbs()))
                return (name, Tolerance(maxAbs: 1e-6 * scale, relL2: 1e-6))
            }
        }
    }

    /// "step10" after "step9", "output_blocks.11" after "output_blocks.2".
    static func naturalOrder(_ a: String, _ b: String) -> Bool {
        a.compare(b, options: .numeric) == .orderedAscending
    }
}

/// One compared output of a parity run.
public struct ParityResult {
    public let output: String
    public let maxAbsErr: Double
    public let relL2Err: Double
    public let tolerance: ParityFixture.Tolerance
    /// Nil when compared; otherwise why the output could not be compared (missing, shape).
    public let problem: String?

    public var passed: Bool {
        problem == nil && maxAbsErr <= tolerance.maxAbs && relL2Err <= tolerance.relL2
    }
}

extension ParityFixture {
    /// Compares every expected output against what a runner produced. Outputs the runner did not
    /// produce fail, except debug intermediates (`debug.*`), which localise bugs but are optional.
    public func compare(_ actual: [String: Tensor]) throws -> [ParityResult] {
        try tolerances().compactMap { name, tol in
            guard let got = actual[name] else {
                if name.hasPrefix("debug.") || name.contains(".debug.") { return nil }
                return ParityResult(output: name, maxAbsErr: .nan, relL2Err: .nan, tolerance: tol, problem: "not computed")
            }
            let want = try expected(name)
            guard got.count == want.count else {
                return ParityResult(output: name, maxAbsErr: .nan, relL2Err: .nan, tolerance: tol,
                                    problem: "shape \(got.shape), expected \(want.shape)")
            }
            let e = ParityError(got, want)
            return ParityResult(output: name, maxAbsErr: e.maxAbs, relL2Err: e.relL2, tolerance: tol, problem: nil)
        }
    }
}

/// How far `got` is from `want` (same element count), by the parity rule: the largest absolute
/// difference and the relative L2 error ‖got − want‖ / ‖want‖ (the absolute one when want is 0).
public struct ParityError {
    public let maxAbs: Double, relL2: Double

    public init(_ got: Tensor, _ want: Tensor) {
        let g = got.toArray(), w = want.toArray()
        var maxAbs = 0.0, num = 0.0, den = 0.0
        for i in 0..<g.count {
            let d = Double(g[i]) - Double(w[i])
            if d.isNaN { maxAbs = .nan; break }
            maxAbs = max(maxAbs, abs(d))
            num += d * d
            den += Double(w[i]) * Double(w[i])
        }
        self.maxAbs = maxAbs
        relL2 = den > 0 ? (num / den).squareRoot() : num.squareRoot()
    }
}
