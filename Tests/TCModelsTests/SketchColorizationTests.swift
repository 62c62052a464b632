import Foundation
import TCCore
import TCModels
import Testing

private func frames(_ t: Int, _ h: Int = 4, _ w: Int = 6, present: [Bool]? = nil) throws -> SketchFrames {
    // Frame f is filled with (f + 1)/100, so frames can be told apart.
    let v = (0..<(t * h * w)).map { Float($0 / (h * w) + 1) / 100 }
    return try SketchFrames(frames: Tensor(v, [t, h, w, 1]), present: present)
}

private func frameValues(_ s: SketchFrames) -> [Float] {
    let per = s.height * s.width, v = s.frames.toArray()
    return (0..<s.count).map { v[$0 * per] }
}

/// The SketchExtract pattern syntax, the keyframe fit of sketches, the Colorize modes
/// (sketch-and-colorize.md §4, §6.5, §6.8) and Anime2Sketch on any size.
@Suite struct SketchColorizationTests {
    @Test func patternParsing() throws {
        #expect(try SparseGuidance.Pattern(parsing: "dense") == .dense)
        #expect(try SparseGuidance.Pattern(parsing: " Endpoints ") == .endpoints)
        #expect(try SparseGuidance.Pattern(parsing: "bisection3") == .bisection(3))
        #expect(try SparseGuidance.Pattern(parsing: "15, 0,7") == .frames([0, 7, 15]))
        #expect(try SparseGuidance.Pattern(parsing: "bisection3").frames(count: 16) == [0, 1, 3, 5, 7, 9, 11, 13, 15])
        #expect(try SparseGuidance.Pattern(parsing: "bisection1").frames(count: 16) == [0, 7, 15])
        #expect(try SparseGuidance.Pattern.endpoints.frames(count: 16) == [0, 15])
        #expect(try SparseGuidance.Pattern.dense.frames(count: 3) == [0, 1, 2])
        #expect(try SparseGuidance.Pattern(parsing: "3,4").frames(count: 5) == [3, 4])
        for bad in ["", "bisection5", "bisection", "0,,3", "a,b", "-1,2", "2,2", "sparse"] {
            #expect(throws: SketchError.self, "\(bad)") { try SparseGuidance.Pattern(parsing: bad) }
        }
        #expect(throws: SketchError.self) { try SparseGuidance.Pattern.frames([0, 16]).frames(count: 16) }
        #expect(throws: SketchError.self) { try SparseGuidance.Pattern.dense.frames(count: 0) }
        for p in ["dense", "endpoints", "bisection2", "0,7,15"] { #expect(try SparseGuidance.Pattern(parsing: p).description == p) }
    }

    /// The keyframes' transform: short side to min(H, W), centre crop; present flags kept.
    @Test func fitLikeTheKeyframes() throws {
        // A 20×40 sketch with a vertical line at x = 20 (the centre) fitted to 8×8: the short side
        // becomes 8 (8×16), the crop keeps x 4..<12, so the line lands near x = 4.
        var v = [Float](repeating: 0, count: 20 * 40)
        for y in 0..<20 { v[y * 40 + 20] = 1 }
        let s = try SketchFrames(frames: Tensor(v, [1, 20, 40, 1]), present: [true])
        let f = try s.fitted(height: 8, width: 8)
        #expect(f.frames.shape == [1, 8, 8, 1] && f.present == [true])
        let row = Array(f.frames.toArray()[(4 * 8)..<(5 * 8)])
        #expect(row.firstIndex(of: row.max()!) == 4)
        // Same size: untouched. Portrait into landscape: zero padding at the sides.
        #expect(try s.fitted(height: 20, width: 40).frames.toArray() == s.frames.toArray())
        let tall = try SketchFrames(frames: Tensor(repeating: 1, [2, 12, 6, 1]), present: [true, false])
        let p = try tall.fitted(height: 6, width: 12)
        #expect(p.present == [true, false])
        let r = Array(p.frames.toArray()[0..<12])
        #expect(r == [0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0])
        // Upscaling 4× (a 64×128 sketch for a 320×512 model).
        #expect(try (try frames(2, 64, 128)).fitted(height: 320, width: 512).frames.shape == [2, 320, 512, 1])
        #expect(throws: SketchError.self) { try s.fitted(height: 0, width: 8) }
    }

    @Test func dualReferenceKeepsTheSketches() throws {
        let s = try frames(16)
        let (out, notes) = try Colorization.modelSketches(s, frames: 16, mode: .dualReference)
        #expect(frameValues(out) == frameValues(s) && notes.isEmpty)
        #expect(throws: SketchError.self) { try Colorization.modelSketches(try frames(15), frames: 16, mode: .dualReference) }
        #expect(throws: SketchError.self) { try Colorization.modelSketches(try frames(17), frames: 16, mode: .dualReference) }
        let gaps = try frames(16, present: (0..<16).map { $0 != 5 })
        #expect(try Colorization.modelSketches(gaps, frames: 16, mode: .dualReference).notes.count == 1)
    }

    /// Loop mode: the last model frame gets sketch 0, whether the user gave T − 1 sketches (appended)
    /// or T (replaced, with a notice).
    @Test func singleReferenceLoops() throws {
        let fifteen = try frames(15)
        let (a, na) = try Colorization.modelSketches(fifteen, frames: 16, mode: .singleReference)
        #expect(a.count == 16 && na.isEmpty)
        #expect(frameValues(a) == frameValues(fifteen) + [frameValues(fifteen)[0]])
        let sixteen = try frames(16, present: [false] + Array(repeating: true, count: 15))
        let (b, nb) = try Colorization.modelSketches(sixteen, frames: 16, mode: .singleReference)
        #expect(b.count == 16 && frameValues(b)[15] == frameValues(sixteen)[0])
        #expect(Array(frameValues(b)[0..<15]) == Array(frameValues(sixteen)[0..<15]))
        #expect(b.present[15] == false && b.present[0] == false)
        #expect(nb.count == 2)
        for n in [1, 14, 17] {
            #expect(throws: SketchError.self, "\(n)") { try Colorization.modelSketches(try frames(n), frames: 16, mode: .singleReference) }
        }
        #expect(throws: SketchError.self) { try Colorization.modelSketches(try frames(1), frames: 1, mode: .singleReference) }
    }

    @Test func sketchPortTensors() throws {
        let s = try SketchConditioning.frames(sketch: Tensor(zeros: [3, 4, 6, 1]), present: Tensor([1, 0, 1], [3]).converted(to: .u8))
        #expect(s.present == [true, false, true])
        #expect(try SketchConditioning.frames(sketch: Tensor(zeros: [3, 4, 6, 1]), present: nil).present == [true, true, true])
        #expect(throws: SketchError.self) { try SketchConditioning.frames(sketch: Tensor(zeros: [3, 4, 6, 1]), present: Tensor(zeros: [2])) }
        #expect(throws: SketchError.self) { try SketchConditioning.frames(sketch: Tensor(zeros: [3, 4, 6, 3]), present: nil) }
        #expect(throws: SketchError.self) { try SketchConditioning.frames(sketch: Tensor(zeros: [3, 4, 6, 1]), present: Tensor(zeros: [3, 1])) }
    }

    /// Anime2Sketch takes multiples of 256 only; `lineArt` resizes up and back.
    @Test func anime2SketchOnAnySize() throws {
        let net = try Anime2Sketch(try openWeightFile(SketchFixtures.local("anime2sketch_ngf1.safetensors")))
        let image = syntheticImage(frames: 2, 100, 300) { _, y, x, _ in (40..<44).contains(y) || x == 150 ? 0 : 1 }
        let s = try net.lineArt(from: image)
        #expect(s.frames.shape == [2, 100, 300, 1])
        #expect(s.frames.toArray().allSatisfy { $0 >= 0 && $0 <= 1 })
        let fits = syntheticImage(256, 512) { _, _, _, _ in 1 }
        #expect(try net.lineArt(from: fits).frames.toArray() == (try net.sketches(from: fits)).frames.toArray())
    }

    /// The config a sketch-model file carries: the bundled small model's metadata, a parity
    /// fixture's config, or the released encoder's for files without one.
    @Test func controlNetConfigFromFile() throws {
        let ckpt = try SketchModelFiles.controlNetConfig(forFile: SketchFixtures.local("controlnet_tiny.ckpt"))
        #expect(ckpt.config == ControlNetConfig() && ckpt.controlScale == nil)
        if let bundled = SketchModelFiles.bundledControlNetPath {
            let (config, scale) = try SketchModelFiles.controlNetConfig(forFile: bundled)
            #expect(config.modelChannels == 32 && config.channelMult == [1, 1, 2, 2] && config.contextDim == 32)
            #expect(scale == 1)
            let net = try SketchControlNet.load(path: bundled, config: config)
            #expect(net.residualCount == 13)
        }
        if let fixture = SketchFixtures.path("sketch_controlnet.safetensors") {
            #expect(try SketchModelFiles.controlNetConfig(forFile: fixture).config.channelMult == [1, 2, 3, 3])
        }
    }
}
