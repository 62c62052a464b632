import Foundation
import Testing
import TCCore

// MARK: - Independent references

/// PIL's resize written from its description (per axis: support = s·max(scale, 1), taps from
/// ⌊centre − support + 0.5⌋, normalised weights in 22-bit fixed point, 8-bit intermediate after the
/// horizontal pass), over a whole (H, W, C) image, one output pixel at a time.
func naivePILResize(_ img: [UInt8], h: Int, w: Int, c: Int, outW: Int, outH: Int, bicubic: Bool) -> [UInt8] {
    func kernel(_ x: Double) -> Double {
        let x = abs(x)
        if !bicubic { return max(0, 1 - x) }
        let a = -0.5
        if x < 1 { return (a + 2) * x * x * x - (a + 3) * x * x + 1 }
        if x < 2 { return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a }
        return 0
    }
    func coefficients(_ inSize: Int, _ outSize: Int, _ i: Int) -> (Int, [Int]) {
        let scale = Double(inSize) / Double(outSize), fs = max(scale, 1)
        let support = (bicubic ? 2.0 : 1.0) * fs
        let centre = (Double(i) + 0.5) * scale
        let lo = max(0, Int((centre - support + 0.5).rounded(.down)))
        let hi = min(inSize, Int((centre + support + 0.5).rounded(.down)))
        var ws = (lo..<hi).map { kernel((Double($0) - centre + 0.5) / fs) }
        let total = ws.reduce(0, +)
        ws = ws.map { $0 / total }
        return (lo, ws.map { v in Int((v * 4194304).rounded(.toNearestOrAwayFromZero)) })
    }
    func clip(_ acc: Int) -> UInt8 { UInt8(max(0, min(255, (acc + (1 << 21)) >> 22))) }
    // Pillow 13 runs the vertical pass first when the height shrinks and the width does not
    // shrink by at least half as many pixels.
    if outW != w && outH < h && !(outW <= w && 2 * (w - outW) >= h - outH) {
        let v = naivePILResize(img, h: h, w: w, c: c, outW: w, outH: outH, bicubic: bicubic)
        return naivePILResize(v, h: outH, w: w, c: c, outW: outW, outH: outH, bicubic: bicubic)
    }
    var mid = img, midW = w
    if outW != w {
        mid = [UInt8](repeating: 0, count: h * outW * c)
        for y in 0..<h { for x in 0..<outW {
            let (lo, ws) = coefficients(w, outW, x)
            for ch in 0..<c {
                var acc = 0
                for (j, wt) in ws.enumerated() { acc += wt * Int(img[(y * w + lo + j) * c + ch]) }
                mid[(y * outW + x) * c + ch] = clip(acc)
            }
        }}
        midW = outW
    }
    if outH == h { return mid }
    var out = [UInt8](repeating: 0, count: outH * midW * c)
    for y in 0..<outH {
        let (lo, ws) = coefficients(h, outH, y)
        for x in 0..<midW { for ch in 0..<c {
            var acc = 0
            for (j, wt) in ws.enumerated() { acc += wt * Int(mid[((lo + j) * midW + x) * c + ch]) }
            out[(y * midW + x) * c + ch] = clip(acc)
        }}
    }
    return out
}

/// torch bicubic/bilinear interpolation from the formulas, in double precision.
func naiveInterpolate(_ x: [Float], planes: Int, h: Int, w: Int, outH: Int, outW: Int, bicubic: Bool,
                      alignCorners: Bool) -> [Float] {
    func source(_ i: Int, _ inSize: Int, _ outSize: Int) -> Double {
        if alignCorners { return outSize > 1 ? Double(i) * Double(inSize - 1) / Double(outSize - 1) : 0 }
        let s = (Double(i) + 0.5) * Double(inSize) / Double(outSize) - 0.5
        return bicubic ? s : max(s, 0)
    }
    func cubic(_ d: Double) -> Double {
        let a = -0.75, x = abs(d)
        if x <= 1 { return (a + 2) * x * x * x - (a + 3) * x * x + 1 }
        if x < 2 { return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a }
        return 0
    }
    func taps(_ i: Int, _ inSize: Int, _ outSize: Int) -> [(Int, Double)] {
        let s = source(i, inSize, outSize)
        let f = min(Int(s.rounded(.down)), inSize - 1)
        let t = s - Double(f)
        if bicubic {
            return (-1...2).map { (min(max(f + $0, 0), inSize - 1), cubic(t - Double($0))) }
        }
        return [(f, 1 - t), (min(f + 1, inSize - 1), t)]
    }
    var out = [Float](repeating: 0, count: planes * outH * outW)
    for p in 0..<planes { for oy in 0..<outH { for ox in 0..<outW {
        var acc = 0.0
        for (iy, wy) in taps(oy, h, outH) { for (ix, wx) in taps(ox, w, outW) {
            acc += wy * wx * Double(x[(p * h + iy) * w + ix])
        }}
        out[(p * outH + oy) * outW + ox] = Float(acc)
    }}}
    return out
}

/// 2-D Gaussian blur as one direct convolution with the outer-product kernel, reflect border.
func naiveBlur(_ x: [Float], planes: Int, h: Int, w: Int, kh: Int, kw: Int, sy: Double, sx: Double) -> [Float] {
    func kernel(_ n: Int, _ s: Double) -> [Double] {
        let g = (0..<n).map { exp(-pow(Double($0 - n / 2), 2) / (2 * s * s)) }
        let t = g.reduce(0, +)
        return g.map { $0 / t }
    }
    func reflect(_ i: Int, _ n: Int) -> Int { i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i) }
    let ky = kernel(kh, sy), kx = kernel(kw, sx)
    var out = [Float](repeating: 0, count: x.count)
    for p in 0..<planes { for y in 0..<h { for xx in 0..<w {
        var acc = 0.0
        for dy in 0..<kh { for dx in 0..<kw {
            let iy = reflect(y + dy - kh / 2, h), ix = reflect(xx + dx - kw / 2, w)
            acc += ky[dy] * kx[dx] * Double(x[(p * h + iy) * w + ix])
        }}
        out[(p * h + y) * w + xx] = Float(acc)
    }}}
    return out
}

func bytes(_ t: Tensor) -> [UInt8] {
    Array(UnsafeBufferPointer(start: t.contiguous().typedPointer(UInt8.self), count: t.count))
}

// MARK: - Against the independent references

@Test(arguments: [(13, 17, 3, 5, 40), (29, 23, 1, 64, 9), (31, 37, 4, 31, 12), (16, 16, 3, 16, 16), (7, 50, 3, 3, 2),
                  (40, 30, 3, 26, 19), (40, 30, 3, 20, 35)])
func pilResizeMatchesNaive(h: Int, w: Int, c: Int, outW: Int, outH: Int) {
    let img = randomBytes([h, w, c], seed: UInt64(h * 1000 + w))
    for filter in [PILFilter.bilinear, .bicubic] {
        let got = pilResize(img, width: outW, height: outH, filter: filter)
        #expect(got.shape == [outH, outW, c])
        let want = naivePILResize(bytes(img), h: h, w: w, c: c, outW: outW, outH: outH, bicubic: filter == .bicubic)
        #expect(bytes(got) == want, "\(filter) \(h)×\(w) → \(outH)×\(outW)")
    }
}

@Test func pilResizeBatchesAndPlanes() {
    let batch = randomBytes([3, 11, 9, 2], seed: 5)
    let got = pilResize(batch, width: 20, height: 4, filter: .bicubic)
    #expect(got.shape == [3, 4, 20, 2])
    for n in 0..<3 {
        let one = pilResize(batch[n], width: 20, height: 4, filter: .bicubic)
        #expect(bytes(got[n]) == bytes(one))
    }
    let plane = randomBytes([11, 9], seed: 6)
    let viaChannel = pilResize(plane.reshaped([11, 9, 1]), width: 5, height: 21, filter: .bilinear)
    #expect(bytes(pilResize(plane, width: 5, height: 21, filter: .bilinear)) == bytes(viaChannel))
}

@Test(arguments: [(19, 27, 11, 40), (19, 27, 33, 13), (5, 8, 5, 8), (6, 9, 1, 4), (30, 2, 224, 224)])
func interpolateMatchesNaive(h: Int, w: Int, outH: Int, outW: Int) {
    let x = randomTensor([2, 3, h, w], seed: UInt64(h + 100 * w))
    for mode in [InterpolationMode.bilinear, .bicubic] {
        for align in [true, false] {
            let got = interpolate(x, height: outH, width: outW, mode: mode, alignCorners: align)
            #expect(got.shape == [2, 3, outH, outW])
            let want = naiveInterpolate(x.toArray(), planes: 6, h: h, w: w, outH: outH, outW: outW,
                                        bicubic: mode == .bicubic, alignCorners: align)
            let err = maxAbsDiff(got.toArray(), want)
            #expect(err < 1e-5, "\(mode) align \(align): \(err)")
        }
    }
}

@Test(arguments: [((3, 3), (0.2143, 0.6429)), ((5, 7), (1.1, 1.9)), ((1, 9), (0.5, 3.0))])
func gaussianBlurMatchesNaive(kernel: (Int, Int), sigma: (Double, Double)) {
    let x = randomTensor([1, 2, 13, 17], seed: 9)
    let got = gaussianBlur2d(x, kernelSize: kernel, sigma: (Float(sigma.0), Float(sigma.1)))
    let want = naiveBlur(x.toArray(), planes: 2, h: 13, w: 17, kh: kernel.0, kw: kernel.1, sy: sigma.0, sx: sigma.1)
    #expect(maxAbsDiff(got.toArray(), want) < 2e-6)
}

@Test func korniaResizeIsBlurThenBicubic() {
    let x = randomTensor([1, 3, 40, 64], seed: 10)
    // f = (40/28, 64/28): σ = (0.2143, 0.6429), 3×3 kernels as in spec §1.5 for 320×512 → 224².
    let got = korniaResize(x, height: 28, width: 28)
    let blurred = naiveBlur(x.toArray(), planes: 3, h: 40, w: 64, kh: 3, kw: 3, sy: (40.0 / 28 - 1) / 2,
                            sx: (64.0 / 28 - 1) / 2)
    let want = naiveInterpolate(blurred, planes: 3, h: 40, w: 64, outH: 28, outW: 28, bicubic: true, alignCorners: true)
    #expect(maxAbsDiff(got.toArray(), want) < 1e-5)
    // Same size: no blur, bicubic at integer positions is the identity.
    #expect(maxAbsDiff(korniaResize(x, height: 40, width: 64), x) == 0)
}

// MARK: - Against PIL, torch and kornia (tools/fixtures/make_resize_fixtures.py)

@Test func resizeMatchesReferenceLibraries() throws {
    let file = try SafeTensorsFile(path: TestFixtures.path("resize_reference.safetensors"))
    let cases = try JSONSerialization.jsonObject(with: Data(file.metadata["cases"]!.utf8)) as! [[String: Any]]
    #expect(cases.count >= 40)
    for c in cases {
        let op = c["op"] as! String
        let input = try file.tensor(c["input"] as! String)
        let want = try file.tensor(c["output"] as! String)
        let name = c["output"] as! String
        switch op {
        case "pil":
            let filter: PILFilter = c["filter"] as! String == "bicubic" ? .bicubic : .bilinear
            let got = pilResize(input, width: c["width"] as! Int, height: c["height"] as! Int, filter: filter)
            if input.dtype == .u8 {
                #expect(got.shape == want.shape && bytes(got) == bytes(want), "\(name)")
            } else {
                #expect(maxAbsDiff(got, want) == 0, "\(name): \(maxAbsDiff(got, want))")
            }
        case "interpolate":
            let mode: InterpolationMode = c["mode"] as! String == "bicubic" ? .bicubic : .bilinear
            let got = interpolate(input, height: c["height"] as! Int, width: c["width"] as! Int, mode: mode,
                                  alignCorners: c["align_corners"] as! Bool)
            #expect(maxAbsDiff(got, want) < 1e-6, "\(name): \(maxAbsDiff(got, want))")
        case "blur":
            let k = c["kernel"] as! [Int], s = c["sigma"] as! [Double]
            let got = gaussianBlur2d(input, kernelSize: (k[0], k[1]), sigma: (Float(s[0]), Float(s[1])))
            #expect(maxAbsDiff(got, want) < 1e-6, "\(name): \(maxAbsDiff(got, want))")
        case "kornia":
            let got = korniaResize(input, height: c["height"] as! Int, width: c["width"] as! Int)
            #expect(maxAbsDiff(got, want) < 1e-6, "\(name): \(maxAbsDiff(got, want))")
        default:
            Issue.record("unknown case kind \(op)")
        }
    }
}

// MARK: - The parity fixtures' real pipeline resizes

@Test(.enabled(if: SharedParity.path("anime2sketch.safetensors") != nil, SharedParity.skipReason))
func anime2sketchPipelineResizesAreExact() throws {
    let f = try SafeTensorsFile(path: SharedParity.path("anime2sketch.safetensors")!)
    let image = try f.tensor("input.pipeline.image_uint8")
    let resized = try f.tensor("output.pipeline.resized_uint8")
    let got = pilResize(image, width: resized.dim(1), height: resized.dim(0), filter: .bicubic)
    #expect(bytes(got) == bytes(resized))
    let sketch = try f.tensor("output.pipeline.sketch_uint8")
    let saved = try f.tensor("output.pipeline.saved_uint8")
    let back = pilResize(sketch, width: image.dim(1), height: image.dim(0), filter: .bicubic)
    #expect(bytes(back) == bytes(saved))
}

@Test(.enabled(if: SharedParity.path("clip_vision.safetensors") != nil, SharedParity.skipReason))
func clipPreprocessingMatchesFixture() throws {
    let f = try SafeTensorsFile(path: SharedParity.path("clip_vision.safetensors")!)
    let image = try f.tensor("input.image")
    let want = try f.tensor("output.preprocessed")
    let meta = try JSONSerialization.jsonObject(with: Data(f.metadata["fixture"]!.utf8)) as! [String: Any]
    let tol = ((meta["tolerance"] as! [String: Any])["output.preprocessed"] as! [String: Any])["max_abs_err"] as! Double
    let resized = korniaResize(image, height: want.dim(2), width: want.dim(3))
    let mean: [Float] = [0.48145466, 0.4578275, 0.40821073], std: [Float] = [0.26862954, 0.26130258, 0.27577711]
    let x = (resized + 1) * 0.5
    let norm = (x - Tensor(mean, [1, 3, 1, 1])) / Tensor(std, [1, 3, 1, 1])
    let err = maxAbsDiff(norm, want)
    #expect(Double(err) <= tol, "max abs err \(err) vs tolerance \(tol)")
    #expect(err < 1e-5)
}
