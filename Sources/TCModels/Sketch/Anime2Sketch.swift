import TCCore

/// Anime2Sketch's line extractor (sketch-and-colorize.md §3.1; fixture (k)): the pix2pix U-Net
/// `UnetGenerator(3, 1, num_downs 8, ngf, InstanceNorm without affine, no dropout)` of
/// Mukosame/Anime2Sketch. ToonCrafter's `sketch_extractor.pth` is byte-identical to its `netG.pth`
/// (ngf 64, 54,405,505 parameters). RGB in [−1,1] → one tanh channel, DARK lines on WHITE paper.
///
/// The nesting is the checkpoint's: the outermost block is `model.model`, the block at depth d
/// sits under `model.model.1` followed by d−1 times `.model.3`.
public struct Anime2Sketch {
    public struct Config: Equatable, Sendable, CustomStringConvertible {
        public var inputChannels: Int
        public var outputChannels: Int
        /// Stride-2 levels, outermost included (released: 8).
        public var numDowns: Int
        /// Width of the outermost level (released: 64).
        public var ngf: Int

        public init(inputChannels: Int = 3, outputChannels: Int = 1, numDowns: Int = 8, ngf: Int = 64) {
            self.inputChannels = inputChannels
            self.outputChannels = outputChannels
            self.numDowns = numDowns
            self.ngf = ngf
        }

        /// Input height and width must be multiples of this: every level halves them and the skip
        /// concatenations need the up path to land exactly on the down path's size.
        public var sizeMultiple: Int { 1 << numDowns }

        /// Channels at the outer side of nested block `depth` (1 … numDowns−1): ngf·1, 2, 4, 8, 8, …
        func outer(_ depth: Int) -> Int { ngf * min(1 << (depth - 1), 8) }
        func inner(_ depth: Int) -> Int { ngf * min(1 << depth, 8) }

        /// Every tensor of the state dict with its shape, in module order.
        public var expectedShapes: [(key: String, shape: [Int])] {
            var s: [(String, [Int])] = [
                ("model.model.0.weight", [ngf, inputChannels, 4, 4]), ("model.model.0.bias", [ngf]),
            ]
            for d in 1..<numDowns {
                let p = Anime2Sketch.blockKey(d)
                let innermost = d == numDowns - 1
                s.append(("\(p).model.1.weight", [inner(d), outer(d), 4, 4]))
                s.append(("\(p).model.1.bias", [inner(d)]))
                let up = innermost ? "\(p).model.3" : "\(p).model.5"
                s.append(("\(up).weight", [innermost ? inner(d) : 2 * inner(d), outer(d), 4, 4]))
                s.append(("\(up).bias", [outer(d)]))
            }
            s.append(("model.model.3.weight", [2 * ngf, outputChannels, 4, 4]))
            s.append(("model.model.3.bias", [outputChannels]))
            return s
        }

        public var parameterCount: Int { expectedShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }

        public var description: String {
            "UnetGenerator(\(inputChannels)→\(outputChannels), \(numDowns) levels, ngf \(ngf))"
        }

        /// The reference builds at least five levels whatever `num_downs` says; fewer cannot be a checkpoint of it.
        func validate() throws {
            guard numDowns >= 5, numDowns <= 16, ngf > 0, inputChannels > 0, outputChannels > 0 else {
                throw SketchError.invalidInput(what: "Anime2Sketch configuration",
                                               expected: "5…16 levels and positive widths", got: "\(self)")
            }
        }
    }

    public let config: Config
    let outerDown: Conv2d
    /// Depths 1 … numDowns−1, outside in.
    let blocks: [SkipBlock]
    let outerUp: ConvTranspose2d

    static func blockKey(_ depth: Int) -> String {
        "model.model.1" + String(repeating: ".model.3", count: depth - 1)
    }

    /// Loads strictly from `source` (`netG.pth`, `sketch_extractor.pth`, a converted safetensors
    /// file, …). Keys are read with every `module.` removed, as the reference loader does. Without
    /// `config` the configuration is read off the weights (widths from the outer convs, depth from
    /// the nesting); a given `config` must match them. `SyntheticWeights` get the given (or the
    /// released) layout, for benchmarks without the checkpoint.
    public init(_ source: TensorSource, config: Config? = nil) throws {
        let src: TensorSource
        let cfg: Config
        if source is ShapeAwareTensorSource {
            // Synthetic weights (benchmarks) exist in whatever layout is asked for: nothing to infer or check.
            src = source
            cfg = config ?? Config()
            try cfg.validate()
        } else {
            let stripped = try RenamedTensorSource(source, removing: "module.")
            cfg = config ?? Anime2Sketch.inferConfig(stripped)
            try cfg.validate()
            let names = Set(cfg.expectedShapes.map(\.key))
            let missing = cfg.expectedShapes.map(\.key).filter { !stripped.contains($0) }
            let unexpected = stripped.allKeys.filter { !names.contains($0) }.sorted()
            if !missing.isEmpty || !unexpected.isEmpty {
                throw SketchError.keyMismatch(source: source.sourceName, model: "Anime2Sketch \(cfg)",
                                              missing: missing, unexpected: unexpected)
            }
            src = stripped
        }
        let w = WeightReader(src)
        for (key, shape) in cfg.expectedShapes { _ = try w(key, shape: shape) }
        self.config = cfg
        outerDown = try Conv2d(w, "model.model.0", stride: 2, padding: 1)
        blocks = try (1..<cfg.numDowns).map { d in
            try SkipBlock(w, Anime2Sketch.blockKey(d), innermost: d == cfg.numDowns - 1)
        }
        outerUp = try ConvTranspose2d(w, "model.model.3", stride: 2, padding: 1)
    }

    /// The configuration the weights imply; the released one when they do not say (the strict key
    /// check then lists what is wrong).
    static func inferConfig(_ src: TensorSource) -> Config {
        var cfg = Config()
        guard let first = try? src.tensor("model.model.0.weight"), first.rank == 4 else { return cfg }
        cfg.ngf = first.dim(0)
        cfg.inputChannels = first.dim(1)
        if let last = try? src.tensor("model.model.3.weight"), last.rank == 4 { cfg.outputChannels = last.dim(1) }
        var depth = 1
        while src.contains("\(blockKey(depth + 1)).model.1.weight") { depth += 1 }
        if depth + 1 >= 5 { cfg.numDowns = depth + 1 }
        return cfg
    }

    /// x (N, inputChannels, H, W) in [−1,1] → (N, outputChannels, H, W) in (−1,1), +1 white paper.
    /// `tap(d, t)` receives the output of the nested block at depth d (cat([skip, up path]), before
    /// the parent's ReLU) for debugging against the fixture's `debug.unet_block.{d}`.
    public func callAsFunction(_ x: Tensor, tap: ((Int, Tensor) -> Void)? = nil) throws -> Tensor {
        let m = config.sizeMultiple
        guard x.rank == 4, x.dim(1) == config.inputChannels, x.dim(0) > 0,
              x.dim(2) > 0, x.dim(3) > 0, x.dim(2) % m == 0, x.dim(3) % m == 0 else {
            throw SketchError.invalidInput(
                what: "Anime2Sketch input",
                expected: "(N, \(config.inputChannels), H, W) with H and W positive multiples of \(m)",
                got: "\(x.shape)")
        }
        func nested(_ i: Int, _ h: Tensor) -> Tensor {
            let out = blocks[i](h) { nested(i + 1, $0) }
            tap?(i + 1, out)
            return out
        }
        let h = nested(0, outerDown(x))                   // n 2·ngf H/2 W/2
        return outerUp(h.relu()).tanh()                    // n out H W
    }
}

/// One nested level (`UnetSkipConnectionBlock`, not the outermost):
/// cat([LeakyReLU(x), IN(ConvT(ReLU(inner(IN(Conv(LeakyReLU(x)))))))]).
struct SkipBlock {
    let down: Conv2d
    let up: ConvTranspose2d
    /// The innermost block has no norm after its down conv and no inner block.
    let innermost: Bool

    init(_ w: WeightReader, _ key: String, innermost: Bool) throws {
        down = try Conv2d(w, "\(key).model.1", stride: 2, padding: 1)
        up = try ConvTranspose2d(w, innermost ? "\(key).model.3" : "\(key).model.5", stride: 2, padding: 1)
        self.innermost = innermost
    }

    func callAsFunction(_ x: Tensor, inner: (Tensor) -> Tensor) -> Tensor {
        // The reference's LeakyReLU runs in place on x before `cat([x, model(x)])` reads it, so the
        // skip half is LeakyReLU(x) (fixture (k), in-place quirk). The parent's ReLU makes that
        // invisible in the sketch, but the block outputs carry it.
        let a = x.leakyRelu(0.2)
        let d = down(a)                                                // n inner h/2 w/2
        let m = innermost ? d : inner(instanceNorm(d, eps: 1e-5))      // innermost: n inner h/2 w/2, else n 2·inner
        let u = instanceNorm(up(m.relu()), eps: 1e-5)                  // n outer h w
        return concat([a, u], axis: 1)                                 // n 2·outer h w
    }
}
