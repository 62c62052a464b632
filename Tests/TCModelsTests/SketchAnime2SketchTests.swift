import Foundation
import Testing
import TCCore
import TCModels

/// Random weights for a small generator, under the real checkpoint keys.
private func smallGenerator(ngf: Int = 2, numDowns: Int = 8) -> MemorySource {
    var d: [String: Tensor] = [:]
    for (i, (key, shape)) in Anime2Sketch.Config(numDowns: numDowns, ngf: ngf).expectedShapes.enumerated() {
        d[key] = sketchTestTensor(shape, seed: UInt64(i + 1), scale: 0.3)
    }
    return MemorySource(d, name: "small.pth")
}

@Suite("Anime2Sketch")
struct SketchAnime2SketchTests {
    /// Fixture (k) through the registry: the sketch, every debug.unet_block tap and the test-script
    /// pipeline, through the real loading code.
    @Test(.enabled(if: SketchFixtures.anime2sketch != nil, SketchFixtures.skipMessage))
    func parityWithFixture() throws {
        let fixture = try ParityFixture(path: SketchFixtures.anime2sketch!)
        let results = try ParityRegistry.run(fixture)
        #expect(results.count == 13)
        for r in results {
            print("anime2sketch \(r.output): max abs \(r.maxAbsErr) (tol \(r.tolerance.maxAbs)), rel L2 \(r.relL2Err) (tol \(r.tolerance.relL2))")
            #expect(r.passed, "\(r.output): max abs \(r.maxAbsErr), rel L2 \(r.relL2Err) \(r.problem ?? "")")
        }
    }

    /// The whole script on its own outputs, including the final resize of our own sketch image.
    @Test(.enabled(if: SketchFixtures.anime2sketch != nil, SketchFixtures.skipMessage))
    func pipelineEndToEnd() throws {
        let fixture = try ParityFixture(path: SketchFixtures.anime2sketch!)
        let net = try Anime2Sketch(try FixtureWeights(fixture))
        let script = try Anime2SketchPipeline(net, loadSize: 256)
        let out = try script(try fixture.input("pipeline.image_uint8"))
        #expect(out.resized.toArray() == (try fixture.expected("pipeline.resized_uint8")).toArray())
        let saved = try fixture.expected("pipeline.saved_uint8")
        #expect(out.saved.shape == saved.shape && out.saved.dtype == .u8)
        #expect(maxAbsDifference(out.saved, saved) <= 1)
        #expect(throws: SketchError.self) { try Anime2SketchPipeline(net, loadSize: 200) }
        #expect(throws: SketchError.self) { try script(Tensor(zeros: [20, 30, 3])) }
        #expect(throws: SketchError.self) { try script(Tensor(zeros: [20, 30, 4], dtype: .u8)) }
    }

    /// The configuration is read off the weights; ngf 8 in the fixture, 8 levels.
    @Test(.enabled(if: SketchFixtures.anime2sketch != nil, SketchFixtures.skipMessage))
    func configFromWeights() throws {
        let fixture = try ParityFixture(path: SketchFixtures.anime2sketch!)
        let net = try Anime2Sketch(try FixtureWeights(fixture))
        #expect(net.config == Anime2Sketch.Config(numDowns: try fixture.config.int("num_downs"),
                                                  ngf: try fixture.config.int("ngf")))
    }

    /// The released layout (`full_size_reference` of fixture (k)): 32 tensors, 54,405,505 parameters.
    @Test(.enabled(if: SketchFixtures.anime2sketch != nil, SketchFixtures.skipMessage))
    func releasedLayoutMatchesReference() throws {
        let fixture = try ParityFixture(path: SketchFixtures.anime2sketch!)
        let full = try fixture.meta.dict("full_size_reference")
        let keys = try full.dict("keys")
        let released = Anime2Sketch.Config()
        #expect(released.expectedShapes.count == keys.values.count)
        for (key, shape) in released.expectedShapes {
            #expect(try keys.ints(key) == shape, "\(key)")
        }
        #expect(released.parameterCount == (try full.int("total_parameters")))
    }

    @Test func releasedParameterCount() {
        #expect(Anime2Sketch.Config().parameterCount == 54_405_505)
        #expect(Anime2Sketch.Config().expectedShapes.count == 32)
    }

    /// DataParallel files: every `module.` substring is removed, wherever it sits in the key.
    @Test func loadsDataParallelKeys() throws {
        let plain = smallGenerator()
        let prefixed = try MemorySource.copy(of: plain, rename: { k in
            k.hasSuffix("bias") ? "module." + k : "module." + k.replacingOccurrences(of: "model.1.", with: "model.1.module.")
        })
        #expect(prefixed.allKeys.allSatisfy { $0.hasPrefix("module.") })
        let x = sketchTestTensor([1, 3, 256, 256], seed: 99)
        let a = try Anime2Sketch(plain)(x)
        let b = try Anime2Sketch(prefixed)(x)
        #expect(a.shape == [1, 1, 256, 256])
        #expect(maxAbsDifference(a, b) == 0)
    }

    @Test func keyCollisionAfterStripping() throws {
        let src = smallGenerator()
        src.tensors["module.model.model.0.bias"] = src.tensors["model.model.0.bias"]
        #expect(throws: WeightError.self) {
            try Anime2Sketch(src)
        }
    }

    /// Missing and unexpected tensors are all listed in one error.
    @Test func strictLoadListsMissingAndUnexpected() throws {
        let src = smallGenerator()
        let inner = "model.model.1.model.3.model.5.bias"
        src.tensors[inner] = nil
        src.tensors["model.model.3.bias"] = nil
        src.tensors["model.model.9.weight"] = Tensor(zeros: [1])
        do {
            _ = try Anime2Sketch(src)
            Issue.record("loaded a checkpoint with missing tensors")
        } catch let SketchError.keyMismatch(source, _, missing, unexpected) {
            #expect(source == "small.pth")
            #expect(missing == [inner, "model.model.3.bias"])
            #expect(unexpected == ["model.model.9.weight"])
        }
    }

    @Test func unrelatedFileIsNamedMismatch() throws {
        let src = MemorySource(["time_embed.0.weight": Tensor(zeros: [4, 4])], name: "sketch_encoder.ckpt")
        do {
            _ = try Anime2Sketch(src)
            Issue.record("loaded an unrelated checkpoint")
        } catch let SketchError.keyMismatch(_, _, missing, unexpected) {
            #expect(missing.count == 32)
            #expect(unexpected == ["time_embed.0.weight"])
        }
    }

    @Test func wrongShapeIsRejected() throws {
        let src = smallGenerator()
        src.tensors["model.model.1.model.1.bias"] = Tensor(zeros: [5])
        #expect(throws: WeightError.shapeMismatch(file: "small.pth", key: "model.model.1.model.1.bias",
                                                  expected: [4], got: [5])) {
            try Anime2Sketch(src)
        }
    }

    @Test func configThatDisagreesWithWeights() throws {
        #expect(throws: WeightError.self) { try Anime2Sketch(smallGenerator(), config: .init(ngf: 4)) }
        #expect(throws: SketchError.self) { try Anime2Sketch(smallGenerator(), config: .init(numDowns: 9, ngf: 2)) }
        #expect(throws: SketchError.self) { try Anime2Sketch(smallGenerator(), config: .init(numDowns: 4, ngf: 2)) }
    }

    @Test(arguments: [[1, 3, 200, 256], [1, 3, 256, 384], [1, 4, 256, 256], [1, 1, 256, 256], [3, 256, 256], [0, 3, 256, 256]])
    func rejectsInputShape(_ shape: [Int]) throws {
        let net = try Anime2Sketch(smallGenerator())
        #expect(throws: SketchError.self) { try net(Tensor(zeros: shape)) }
    }

    /// Depth is read from the nesting: a 9-level generator needs sides that are multiples of 512.
    @Test func otherDepthFromWeights() throws {
        let net = try Anime2Sketch(smallGenerator(ngf: 1, numDowns: 9))
        #expect(net.config.numDowns == 9 && net.config.sizeMultiple == 512)
        #expect(throws: SketchError.self) { try net(Tensor(zeros: [1, 3, 256, 256])) }
        let y = try net(sketchTestTensor([1, 3, 512, 512], seed: 5))
        #expect(y.shape == [1, 1, 512, 512])
        #expect(y.toArray().allSatisfy { $0 > -1 && $0 < 1 })
    }

    /// IMAGE frames → hints: the fixture's input as [0,1] frames gives (1 − sketch)/2 of its output.
    @Test(.enabled(if: SketchFixtures.anime2sketch != nil, SketchFixtures.skipMessage))
    func framesToHints() throws {
        let fixture = try ParityFixture(path: SketchFixtures.anime2sketch!)
        let net = try Anime2Sketch(try FixtureWeights(fixture))
        let images = try fixture.input("x").permuted([0, 2, 3, 1]).contiguous().map { ($0 + 1) / 2 }
        let hints = try net.sketches(from: images)
        let want = try fixture.expected("sketch").map { (1 - $0) / 2 }
        #expect(hints.frames.shape == [2, 256, 256, 1] && hints.present == [true, true])
        #expect(maxAbsDifference(hints.frames, want) < 1e-4)
        #expect(throws: SketchError.self) { try net.sketches(from: Tensor(zeros: [1, 320, 512, 3])) }
    }

    /// A PyTorch zip checkpoint saved from DataParallel (`module.` keys) loads through
    /// `openWeightFile` and computes exactly what the same tensors give from safetensors
    /// (SketchFixtures/make_anime2sketch_checkpoints.py writes both).
    @Test func loadsTorchCheckpointWithDataParallelKeys() throws {
        let pth = try openWeightFile(SketchFixtures.local("anime2sketch_ngf1_dataparallel.pth"))
        #expect(pth.allKeys.count == 32 && pth.allKeys.allSatisfy { $0.hasPrefix("module.model.") })
        let fromPth = try Anime2Sketch(pth)
        let fromSafetensors = try Anime2Sketch(try openWeightFile(SketchFixtures.local("anime2sketch_ngf1.safetensors")))
        #expect(fromPth.config == Anime2Sketch.Config(ngf: 1))
        let x = sketchTestTensor([1, 3, 256, 512], seed: 17)
        let a = try fromPth(x), b = try fromSafetensors(x)
        #expect(a.shape == [1, 1, 256, 512])
        #expect(maxAbsDifference(a, b) == 0)
    }

    /// Synthetic weights (benchmarks) take the released layout, or the given configuration.
    @Test func buildsFromSyntheticWeights() throws {
        let full = SyntheticWeights()
        let released = try Anime2Sketch(full)
        #expect(released.config == Anime2Sketch.Config())
        #expect(full.layout.count == 32)
        for (key, shape) in Anime2Sketch.Config().expectedShapes { #expect(full.layout[key] == shape, "\(key)") }
        let small = try Anime2Sketch(SyntheticWeights(), config: .init(ngf: 2))
        let y = try small(sketchTestTensor([1, 3, 256, 256], seed: 3))
        #expect(y.shape == [1, 1, 256, 256] && y.toArray().allSatisfy { $0 > -1 && $0 < 1 })
    }
}
