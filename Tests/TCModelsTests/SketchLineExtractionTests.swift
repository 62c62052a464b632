import Foundation
import Testing
import TCCore
import TCModels

/// IMAGE frames (T, H, W, C) from a per-pixel function.
func syntheticImage(frames t: Int = 1, _ h: Int, _ w: Int, channels c: Int = 3,
                    _ value: (_ f: Int, _ y: Int, _ x: Int, _ c: Int) -> Float) -> Tensor {
    var v = [Float](repeating: 0, count: t * h * w * c)
    for f in 0..<t { for y in 0..<h { for x in 0..<w { for ch in 0..<c {
        v[((f * h + y) * w + x) * c + ch] = value(f, y, x, ch)
    }}}}
    return Tensor(v, [t, h, w, c])
}

/// White paper (or `background`) with black ink: rows 100..<103 and columns 180..<182.
private func inkedLines(_ t: Int = 1, background: [Float] = [1, 1, 1]) -> (image: Tensor, isLine: (Int, Int) -> Bool) {
    let isLine = { (y: Int, x: Int) in (100..<103).contains(y) || (180..<182).contains(x) }
    return (syntheticImage(frames: t, 256, 256) { _, y, x, c in isLine(y, x) ? 0 : background[c] }, isLine)
}

/// Direct 2-D Gaussian in float64 with OpenCV's radius and BORDER_REFLECT_101.
private func naiveBlur(_ v: [Float], _ h: Int, _ w: Int, sigma: Double) -> [Double] {
    let r = max(1, Int((4 * sigma).rounded()))
    let k = (-r...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
    let s = k.reduce(0, +)
    func refl(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        var i = i
        while i < 0 || i >= n { i = i < 0 ? -i : 2 * (n - 1) - i }
        return i
    }
    var out = [Double](repeating: 0, count: h * w)
    for y in 0..<h { for x in 0..<w {
        var acc = 0.0
        for dy in -r...r { for dx in -r...r {
            acc += k[dy + r] * k[dx + r] / (s * s) * Double(v[refl(y + dy, h) * w + refl(x + dx, w)])
        }}
        out[y * w + x] = acc
    }}
    return out
}

@Suite("Line extraction")
struct SketchLineExtractionTests {
    /// Includes a radius larger than the image (reflections bounce several times) and a 1-pixel side.
    @Test(arguments: [(17, 23, 0.8), (9, 5, 3.0), (1, 12, 1.5), (30, 31, 6.0)])
    func gaussianBlurMatchesDirect2D(h: Int, w: Int, sigma: Double) {
        let x = sketchTestTensor([2, h, w], seed: 7)
        let got = gaussianBlur(x, sigma: Float(sigma)).toArray()
        let xs = x.toArray()
        for p in 0..<2 {
            let want = naiveBlur(Array(xs[(p * h * w)..<((p + 1) * h * w)]), h, w, sigma: sigma)
            let err = (0..<(h * w)).map { abs(Double(got[p * h * w + $0]) - want[$0]) }.max()!
            #expect(err < 1e-5)
        }
    }

    @Test func darknessDoGFindsInkLines() throws {
        let (image, isLine) = inkedLines()
        let dog = DarknessDoG()
        let s = try dog(image)
        #expect(s.frames.shape == [1, 256, 256, 1] && s.present == [true])
        let v = s.frames.toArray()
        var line: [Float] = [], paper: [Float] = []
        for y in 0..<256 { for x in 0..<256 { (isLine(y, x) ? { line.append($0) } : { paper.append($0) })(v[y * 256 + x]) } }
        #expect(paper.allSatisfy { $0 == 0 })                      // white on black: no paper response
        #expect(line.allSatisfy { $0 > 0.3 && $0 <= 1 })
        let sorted = line.sorted()                                 // the median line sits at `gain`
        let median = (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        #expect(abs(median - dog.gain) < 1e-5)
    }

    /// Ink on a coloured fill is found as on white; the flat fill itself gives nothing.
    @Test func darknessDoGOnColouredFill() throws {
        let (image, isLine) = inkedLines(background: [0.2, 0.45, 0.9])
        let v = try DarknessDoG()(image).frames.toArray()
        for y in stride(from: 0, to: 256, by: 5) { for x in stride(from: 0, to: 256, by: 5) {
            if isLine(y, x) { #expect(v[y * 256 + x] > 0.3) } else { #expect(v[y * 256 + x] == 0) }
        }}
    }

    /// The formula, on random content, against a float64 re-computation (σ scaled by the size).
    @Test func darknessDoGMatchesFormula() throws {
        let h = 40, w = 64
        let img = sketchTestTensor([1, h, w, 3], seed: 3).map { ($0 + 1) / 2 }
        var dog = DarknessDoG()
        dog.sigma = 16
        let got = try dog(img).frames.toArray()
        let px = img.toArray()
        let blurred = (0..<3).map { c in naiveBlur((0..<(h * w)).map { px[$0 * 3 + c] }, h, w, sigma: 16.0 * 40 / 512) }
        let i = (0..<(h * w)).map { p in min(max((0..<3).map { blurred[$0][p] - Double(px[p * 3 + $0]) }.min()!, 0), 1) }
        let above = i.filter { $0 > 8.0 / 255 }.sorted()
        let med = above.count % 2 == 1 ? above[above.count / 2] : (above[above.count / 2 - 1] + above[above.count / 2]) / 2
        let scale = max(16.0 / 255, med)
        let want = i.map { min(max($0 / scale * 127 / 255, 0), 1) }
        let err = zip(got, want).map { abs(Double($0) - $1) }.max()!
        #expect(err < 1e-4)
    }

    @Test func blankFramesGiveZeroAndFramesAreNormalisedAlone() throws {
        let image = syntheticImage(frames: 3, 256, 256) { f, y, x, _ in
            f == 1 ? 1 : f == 2 ? 0 : ((100..<103).contains(y) ? 0 : 1)
        }
        let v = try DarknessDoG()(image).frames.toArray()
        let n = 256 * 256
        #expect(v[0..<n].max()! > 0.3)
        #expect(v[n..<(3 * n)].allSatisfy { $0 == 0 })
        let x = try XDoG()(image).frames.toArray()
        #expect(x[0..<n].max()! > 0.9)
        #expect(x[n..<(3 * n)].allSatisfy { $0 == 0 })
    }

    @Test func xdogFindsLinesAndLeavesFlatAreas() throws {
        let (image, _) = inkedLines()
        let v = try XDoG()(image).frames.toArray()
        for y in 0..<256 { for x in 0..<256 {
            let near = (97..<106).contains(y) || (177..<185).contains(x)
            // Centre pixels of each stroke away from the crossing (XDoG fades inside large dark areas).
            let centre = (101 == y && !(174..<188).contains(x)) || ((180...181).contains(x) && !(94..<109).contains(y))
            if centre { #expect(v[y * 256 + x] > 0.9) }
            if !near { #expect(v[y * 256 + x] == 0) }
        }}
        let grey = syntheticImage(64, 64) { _, _, _, _ in 0.5 }
        #expect(try XDoG()(grey).frames.toArray().allSatisfy { $0 == 0 })
    }

    /// The formula against float64, with a gentle φ so rounding is not amplified.
    @Test func xdogMatchesFormula() throws {
        let h = 21, w = 30
        let img = sketchTestTensor([1, h, w, 3], seed: 4).map { ($0 + 1) / 2 }
        var x = XDoG()
        x.phi = 10
        x.epsilon = 0
        let got = try x(img).frames.toArray()
        let px = img.toArray()
        let l = (0..<(h * w)).map { (i: Int) -> Float in
            let r: Float = 0.299 * px[i * 3], g: Float = 0.587 * px[i * 3 + 1]
            return r + g + 0.114 * px[i * 3 + 2]
        }
        let c = naiveBlur(l, h, w, sigma: 0.8), s = naiveBlur(l, h, w, sigma: 1.28)
        let want = (0..<(h * w)).map { i -> Double in
            let d = c[i] - 0.98 * s[i]
            return d >= 0 ? 0 : tanh(10 * -d)
        }
        let err = zip(got, want).map { abs(Double($0) - $1) }.max()!
        #expect(err < 1e-5)
        #expect(want.contains { $0 > 0.05 })
    }

    @Test func rejectsBadInput() throws {
        #expect(throws: SketchError.self) { try DarknessDoG()(Tensor(zeros: [1, 8, 8, 2])) }
        #expect(throws: SketchError.self) { try XDoG()(Tensor(zeros: [8, 8, 3])) }
        #expect(throws: SketchError.self) { try XDoG()(Tensor(zeros: [0, 8, 8, 3])) }
        var bad = XDoG()
        bad.sigma = 0
        #expect(throws: SketchError.self) { try bad(Tensor(zeros: [1, 8, 8, 3])) }
    }
}
