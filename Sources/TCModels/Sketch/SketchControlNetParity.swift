import TCCore

/// Fixture (i), `sketch_controlnet`: the ControlNet loaded strictly from the fixture's weights
/// (bare keys), run the way the sampler runs it: the hint embedded on its own, the per-video
/// context (`input.context_video`) prepared once and shared by each video's frames. The
/// per-frame repeated `input.context` gives the same numbers and is checked by a test.
enum SketchControlNetParity {
    static func config(_ f: ParityFixture) throws -> ControlNetConfig {
        try ControlNetConfig(f.config)
    }

    static func run(_ f: ParityFixture) throws -> [String: Tensor] {
        let net = try SketchControlNet.load(try FixtureWeights(f), config: try config(f))
        var out: [String: Tensor] = [:]
        let residuals = try net(try f.input("x"), guidedHint: try net.embedHint(try f.input("hint")),
                                timesteps: try f.input("timesteps").toInts(),
                                context: try net.prepare(context: try f.input("context_video")),
                                tap: { out["debug.\($0)"] = $1 })
        for (i, r) in residuals.enumerated() { out["control.\(i)"] = r }
        return out
    }
}
