import TCCore

/// The weights of a parity fixture only (its metadata's `weight_keys`), so a strict load does not
/// see the fixture's `input.*`/`output.*` tensors as unexpected.
public final class FixtureWeights: TensorSource {
    public let fixture: ParityFixture
    public let allKeys: [String]
    private let keySet: Set<String>

    public init(_ fixture: ParityFixture) throws {
        self.fixture = fixture
        allKeys = try fixture.meta.strings("weight_keys")
        keySet = Set(allKeys)
    }

    public var sourceName: String { fixture.path }
    public func contains(_ key: String) -> Bool { keySet.contains(key) }

    public func tensor(_ key: String) throws -> Tensor {
        guard keySet.contains(key) else { throw WeightError.missingKey(file: fixture.path, key: key) }
        return try fixture.file.tensor(key)
    }
}

/// Fixture (k), `anime2sketch`: the generator on `input.x` with its debug taps, and the test
/// script on `input.pipeline.image_uint8`.
public enum Anime2SketchParity {
    public static func config(_ fixture: ParityFixture) throws -> Anime2Sketch.Config {
        let c = fixture.config
        return Anime2Sketch.Config(inputChannels: try c.int("input_nc"), outputChannels: try c.int("output_nc"),
                                   numDowns: try c.int("num_downs"), ngf: try c.int("ngf"))
    }

    public static func run(_ fixture: ParityFixture) throws -> [String: Tensor] {
        let net = try Anime2Sketch(try FixtureWeights(fixture), config: try config(fixture))
        var out: [String: Tensor] = [:]
        out["sketch"] = try net(try fixture.input("x")) { depth, t in out["debug.unet_block.\(depth)"] = t }

        let image = try fixture.input("pipeline.image_uint8")
        let script = try Anime2SketchPipeline(net, loadSize: try fixture.meta.dict("pipeline").int("load_size"))
        let p = try script(image)
        out["pipeline.resized_uint8"] = p.resized
        out["pipeline.x"] = p.x
        out["pipeline.sketch"] = p.sketch
        out["pipeline.sketch_uint8"] = p.sketchImage
        // The fixture checks the final resize on its own expected `sketch_uint8` (README (k)), so a
        // ±1 truncation difference upstream is not counted twice.
        out["pipeline.saved_uint8"] = pilResize(try fixture.expected("pipeline.sketch_uint8"),
                                                width: image.dim(1), height: image.dim(0), filter: .bicubic)
        return out
    }
}
