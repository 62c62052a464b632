import Foundation
import Testing
import TCCore
import TCModels

/// A 32×48 drawing: a stroke on rows 10..<13, the rest paper.
private func drawing(ink: Float, paper: Float, frames: Int = 1) -> Tensor {
    syntheticImage(frames: frames, 32, 48) { _, y, _, _ in (10..<13).contains(y) ? ink : paper }
}

private func strokeAndPaper(_ s: SketchFrames, frame f: Int = 0) -> (stroke: Float, paper: Float) {
    let v = s.frames.toArray()
    let base = f * 32 * 48
    return (v[base + 11 * 48 + 5], v[base + 20 * 48 + 5])
}

@Suite("Sketch frames and polarity")
struct SketchFramesTests {
    @Test func autoDetectsBlackOnWhite() throws {
        let (s, used) = try SketchFrames.fromDrawings(drawing(ink: 0, paper: 1), polarity: .auto)
        #expect(used == [.blackOnWhite])
        #expect(s.frames.shape == [1, 32, 48, 1])
        let (stroke, paper) = strokeAndPaper(s)
        #expect(stroke == 1 && paper == 0)
    }

    @Test func autoDetectsWhiteOnBlack() throws {
        let (s, used) = try SketchFrames.fromDrawings(drawing(ink: 1, paper: 0), polarity: .auto)
        #expect(used == [.whiteOnBlack])
        let (stroke, paper) = strokeAndPaper(s)
        #expect(stroke == 1 && paper == 0)
    }

    /// Light grey paper and dark grey pencil still read as black on white; the hint is 1 − grey.
    @Test func autoOnGreyPencil() throws {
        let (s, used) = try SketchFrames.fromDrawings(drawing(ink: 0.3, paper: 0.9), polarity: .auto)
        #expect(used == [.blackOnWhite])
        let (stroke, paper) = strokeAndPaper(s)
        #expect(abs(stroke - 0.7) < 1e-6 && abs(paper - 0.1) < 1e-6)
    }

    /// The majority decides: exactly half light counts as paper-white.
    @Test func majorityRuleAndTie() throws {
        let half = syntheticImage(2, 2) { _, y, _, _ in y == 0 ? 1 : 0 }
        #expect(try SketchFrames.fromDrawings(half, polarity: .auto).polarities == [.blackOnWhite])
        let mostlyDark = syntheticImage(3, 2) { _, y, x, _ in y == 0 && x == 0 ? 1 : 0 }
        #expect(try SketchFrames.fromDrawings(mostlyDark, polarity: .auto).polarities == [.whiteOnBlack])
    }

    /// Detection is per frame; blank frames of either colour are zero hints.
    @Test func perFrameDetectionAndBlankFrames() throws {
        let frames = syntheticImage(frames: 4, 32, 48) { f, y, _, _ in
            switch f {
            case 0: (10..<13).contains(y) ? 0 : 1
            case 1: (10..<13).contains(y) ? 1 : 0
            case 2: 1
            default: 0
            }
        }
        let (s, used) = try SketchFrames.fromDrawings(frames, polarity: .auto)
        #expect(used == [.blackOnWhite, .whiteOnBlack, .blackOnWhite, .whiteOnBlack])
        #expect(strokeAndPaper(s, frame: 0) == (1, 0))
        #expect(strokeAndPaper(s, frame: 1) == (1, 0))
        let v = s.frames.toArray()
        #expect(v[(2 * 32 * 48)...].allSatisfy { $0 == 0 })
    }

    @Test func explicitPolarityIsObeyed() throws {
        let img = drawing(ink: 0, paper: 1)
        let (asIs, used) = try SketchFrames.fromDrawings(img, polarity: .whiteOnBlack)
        #expect(used == [.whiteOnBlack])
        #expect(strokeAndPaper(asIs) == (0, 1))
        #expect(strokeAndPaper(try SketchFrames.fromDrawings(img, polarity: .blackOnWhite).sketches) == (1, 0))
    }

    /// Transparent pixels are paper: white for black_on_white/auto, black for white_on_black.
    @Test func transparentBackground() throws {
        let blackInk = syntheticImage(32, 48, channels: 4) { _, y, _, c in
            (10..<13).contains(y) ? (c == 3 ? 1 : 0) : 0
        }
        let (a, used) = try SketchFrames.fromDrawings(blackInk, polarity: .auto)
        #expect(used == [.blackOnWhite])
        #expect(strokeAndPaper(a) == (1, 0))
        let whiteInk = syntheticImage(32, 48, channels: 4) { _, y, _, _ in (10..<13).contains(y) ? 1 : 0 }
        #expect(strokeAndPaper(try SketchFrames.fromDrawings(whiteInk, polarity: .whiteOnBlack).sketches) == (1, 0))
    }

    @Test func hintsAreClamped() throws {
        let bright = syntheticImage(4, 4) { _, _, x, _ in x == 0 ? 1.5 : -0.25 }
        let v = try SketchFrames.fromDrawings(bright, polarity: .whiteOnBlack).sketches.frames.toArray()
        #expect(v.allSatisfy { $0 >= 0 && $0 <= 1 } && v.contains(1) && v.contains(0))
    }

    @Test func parsesPolarityNames() throws {
        #expect(try LinePolarity(parsing: "black_on_white") == .blackOnWhite)
        #expect(try LinePolarity(parsing: "white_on_black") == .whiteOnBlack)
        #expect(try LinePolarity(parsing: "auto") == .auto)
        #expect(throws: SketchError.invalidInput(what: "line polarity", expected: "black_on_white|white_on_black|auto",
                                                 got: "'inverted'")) {
            try LinePolarity(parsing: "inverted")
        }
    }

    /// Anime2Sketch's tanh output, dark on white, becomes (1 − y)/2.
    @Test func anime2SketchOutputToHint() throws {
        let y = Tensor([-1, 1, 0, 0.5, -0.5, 1], [2, 1, 1, 3])
        let s = try SketchFrames.fromAnime2Sketch(y)
        #expect(s.frames.shape == [2, 1, 3, 1])
        #expect(s.frames.toArray() == [1, 0, 0.5, 0.25, 0.75, 0])
        #expect(throws: SketchError.self) { try SketchFrames.fromAnime2Sketch(Tensor(zeros: [2, 3, 4, 4])) }
    }

    @Test func rejectsMalformedFrames() throws {
        #expect(throws: SketchError.self) { try SketchFrames(frames: Tensor(zeros: [2, 8, 8, 3])) }
        #expect(throws: SketchError.self) { try SketchFrames(frames: Tensor(zeros: [2, 8, 8, 1]), present: [true]) }
        #expect(throws: SketchError.self) { try SketchFrames.fromDrawings(Tensor(zeros: [8, 8, 3]), polarity: .auto) }
        #expect(throws: SketchError.self) { try SketchFrames.fromDrawings(Tensor(zeros: [1, 8, 8, 2]), polarity: .auto) }
    }
}

@Suite("Sparse guidance")
struct SketchSparseGuidanceTests {
    /// The patterns of sketch-and-colorize.md §4 for 16 frames (level 3 is the official demo asset).
    @Test func bisectionFor16Frames() throws {
        #expect(try SparseGuidance.bisectionFrames(level: 0, frameCount: 16) == [0, 15])
        #expect(try SparseGuidance.bisectionFrames(level: 1, frameCount: 16) == [0, 7, 15])
        #expect(try SparseGuidance.bisectionFrames(level: 2, frameCount: 16) == [0, 3, 7, 11, 15])
        #expect(try SparseGuidance.bisectionFrames(level: 3, frameCount: 16) == [0, 1, 3, 5, 7, 9, 11, 13, 15])
        #expect(try SparseGuidance.bisectionFrames(level: 4, frameCount: 16) == Array(0..<16))
        #expect(try SparseGuidance.bisectionFrames(level: 7, frameCount: 16) == Array(0..<16))
    }

    @Test func bisectionForOtherLengths() throws {
        #expect(try SparseGuidance.bisectionFrames(level: 1, frameCount: 9) == [0, 4, 8])
        #expect(try SparseGuidance.bisectionFrames(level: 2, frameCount: 9) == [0, 2, 4, 6, 8])
        #expect(try SparseGuidance.bisectionFrames(level: 1, frameCount: 2) == [0, 1])
        #expect(try SparseGuidance.bisectionFrames(level: 2, frameCount: 5) == [0, 1, 2, 3, 4])
        for n in 2...40 {
            for level in 0...6 {
                let f = try SparseGuidance.bisectionFrames(level: level, frameCount: n)
                #expect(f.first == 0 && f.last == n - 1)
                #expect(Set(f).isSuperset(of: try SparseGuidance.bisectionFrames(level: max(0, level - 1), frameCount: n)))
            }
        }
    }

    @Test func bisectionErrors() {
        #expect(throws: SketchError.self) { try SparseGuidance.bisectionFrames(level: -1, frameCount: 16) }
        #expect(throws: SketchError.self) { try SparseGuidance.bisectionFrames(level: 1, frameCount: 1) }
    }

    @Test func presentMask() throws {
        #expect(try SparseGuidance.presentMask([0, 3, 5], frameCount: 6) == [true, false, false, true, false, true])
        #expect(throws: SketchError.self) { try SparseGuidance.presentMask([6], frameCount: 6) }
    }

    /// Absent frames are zero hints and flagged absent; present frames keep their sketch.
    @Test func keepingAPattern() throws {
        let dense = try SketchFrames(frames: sketchTestTensor([16, 4, 6, 1], seed: 8).map { ($0 + 1) / 2 })
        let pattern = try SparseGuidance.bisectionFrames(level: 2, frameCount: 16)
        let sparse = try dense.keeping(pattern)
        #expect(sparse.present == (try SparseGuidance.presentMask(pattern, frameCount: 16)))
        let a = dense.frames.toArray(), b = sparse.frames.toArray()
        for f in 0..<16 {
            let slice = (f * 24)..<((f + 1) * 24)
            #expect(Array(b[slice]) == (pattern.contains(f) ? Array(a[slice]) : Array(repeating: 0, count: 24)))
        }
        #expect(throws: SketchError.self) { try dense.keeping([16]) }
    }

    @Test func sparseFromIndividualSketches() throws {
        let a = Tensor(repeating: 0.5, [4, 6, 1]), b = Tensor(repeating: 1, [1, 4, 6, 1])
        let s = try SketchFrames.sparse([0: a, 15: b], frameCount: 16, height: 4, width: 6)
        #expect(s.present == [true] + Array(repeating: false, count: 14) + [true])
        let v = s.frames.toArray()
        #expect(v[0..<24].allSatisfy { $0 == 0.5 } && v[(15 * 24)...].allSatisfy { $0 == 1 })
        #expect(v[24..<(15 * 24)].allSatisfy { $0 == 0 })
        #expect(throws: SketchError.self) { try SketchFrames.sparse([16: a], frameCount: 16, height: 4, width: 6) }
        #expect(throws: SketchError.self) { try SketchFrames.sparse([1: a], frameCount: 16, height: 6, width: 4) }
        #expect(throws: SketchError.self) { try SketchFrames.sparse([:], frameCount: 0, height: 4, width: 6) }
    }

    /// The keyframes' own lines at both ends, nothing between.
    @Test func endpointSketchesFromKeyframes() throws {
        let a = syntheticImage(64, 64) { _, y, _, _ in (20..<23).contains(y) ? 0 : 1 }
        let b = syntheticImage(64, 64) { _, _, x, _ in (40..<42).contains(x) ? 0 : 1 }
        let s = try SparseGuidance.endpointSketches(first: a, last: b, frameCount: 16, extractor: DarknessDoG())
        #expect(s.frames.shape == [16, 64, 64, 1])
        #expect(s.present == [true] + Array(repeating: false, count: 14) + [true])
        let direct = try DarknessDoG()(concat([a, b], axis: 0)).frames.toArray()
        let v = s.frames.toArray(), n = 64 * 64
        #expect(Array(v[0..<n]) == Array(direct[0..<n]))
        #expect(Array(v[(15 * n)...]) == Array(direct[n...]))
        #expect(v[n..<(15 * n)].allSatisfy { $0 == 0 })
        #expect(v[20 * 64 + 5] > 0.3 && v[15 * n + 5 * 64 + 40] > 0.3)
        #expect(throws: SketchError.self) {
            try SparseGuidance.endpointSketches(first: a, last: syntheticImage(32, 64) { _, _, _, _ in 1 }, frameCount: 16,
                                                extractor: XDoG())
        }
        #expect(throws: SketchError.self) { try SparseGuidance.endpointSketches(first: a, last: b, frameCount: 1, extractor: XDoG()) }
    }
}
