import Testing
import TCCore

struct ConvCase: CustomTestStringConvertible, Sendable {
    let n: Int, c: Int, h: Int, w: Int, o: Int, kh: Int, kw: Int, stride: Int, padding: Padding2D, bias: Bool
    var testDescription: String {
        "\(n)x\(c)x\(h)x\(w) → \(o) k\(kh)x\(kw) s\(stride) p\(padding.top),\(padding.bottom),\(padding.left),\(padding.right)"
    }
}

@Test(arguments: [
    ConvCase(n: 2, c: 3, h: 29, w: 31, o: 5, kh: 3, kw: 3, stride: 1, padding: .same(1), bias: true),
    ConvCase(n: 2, c: 3, h: 29, w: 31, o: 5, kh: 3, kw: 3, stride: 2, padding: .same(1), bias: true),
    // The VAE encoder's downsample: pad right/bottom only, then a stride-2 conv (spec Q20).
    ConvCase(n: 1, c: 4, h: 15, w: 20, o: 6, kh: 3, kw: 3, stride: 2, padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1), bias: true),
    ConvCase(n: 3, c: 7, h: 9, w: 11, o: 5, kh: 1, kw: 1, stride: 1, padding: .zero, bias: true),
    ConvCase(n: 1, c: 7, h: 9, w: 11, o: 5, kh: 1, kw: 1, stride: 2, padding: .zero, bias: false),
    ConvCase(n: 2, c: 3, h: 32, w: 32, o: 4, kh: 4, kw: 4, stride: 2, padding: .same(1), bias: true),
    // CLIP's patch embedding: 14×14 stride 14, no bias.
    ConvCase(n: 1, c: 3, h: 42, w: 28, o: 8, kh: 14, kw: 14, stride: 14, padding: .zero, bias: false),
    ConvCase(n: 2, c: 5, h: 13, w: 6, o: 3, kh: 5, kw: 3, stride: 1, padding: Padding2D(top: 2, bottom: 1, left: 0, right: 3), bias: true),
    ConvCase(n: 1, c: 2, h: 3, w: 3, o: 2, kh: 3, kw: 3, stride: 1, padding: .same(4), bias: true),
    ConvCase(n: 5, c: 16, h: 5, w: 8, o: 12, kh: 3, kw: 3, stride: 1, padding: .same(1), bias: true),
    // Frames of at least 1024 output pixels take the per-frame GEMM paths (3×3 and 1×1).
    ConvCase(n: 2, c: 3, h: 40, w: 30, o: 4, kh: 3, kw: 3, stride: 1, padding: .same(1), bias: true),
    ConvCase(n: 3, c: 5, h: 33, w: 32, o: 4, kh: 1, kw: 1, stride: 1, padding: .zero, bias: true),
])
func conv2dMatchesDirectLoops(_ c: ConvCase) {
    let x = randomTensor([c.n, c.c, c.h, c.w], seed: 1)
    let w = randomTensor([c.o, c.c, c.kh, c.kw], seed: 2)
    let b = c.bias ? randomTensor([c.o], seed: 3) : nil
    let want = naiveConv2d(Dense(x), Dense(w), b.map(Dense.init), stride: c.stride, padding: c.padding)
    for method in methods(kernel: c.kh, c.kw, stride: c.stride) {
        let got = conv2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding, method: method)
        #expect(relativeError(got, want) < 1e-5, "\(method)")
    }
}

/// Every method that can compute a convolution of this kernel and stride.
func methods(kernel kh: Int, _ kw: Int, stride: Int) -> [ConvolutionMethod] {
    kh == kw && (kh == 3 || kh == 2) && stride == 1 ? [.automatic, .im2col, .winograd] : [.automatic, .im2col]
}

@Test func conv2dRandomShapes() {
    var rng = SplitMix64(seed: 42)
    for i in 0..<12 {
        let k = rng.int(1...5), s = rng.int(1...3)
        let p = Padding2D(top: rng.int(0...2), bottom: rng.int(0...2), left: rng.int(0...2), right: rng.int(0...2))
        let h = rng.int(k...17), w = rng.int(k...19)
        let x = randomTensor([rng.int(1...3), rng.int(1...6), h, w], seed: UInt64(i))
        let wt = randomTensor([rng.int(1...7), x.dim(1), k, k], seed: UInt64(100 + i))
        let b = randomTensor([wt.dim(0)], seed: UInt64(200 + i))
        let want = naiveConv2d(Dense(x), Dense(wt), Dense(b), stride: s, padding: p)
        for method in methods(kernel: k, k, stride: s) {
            let got = conv2d(x, weight: wt, bias: b, stride: s, padding: p, method: method)
            #expect(relativeError(got, want) < 1e-5, "case \(i): \(x.shape) k\(k) s\(s) \(p) \(method)")
        }
    }
}

/// Large frames are unfolded in bands of output rows; the bands must tile the output exactly.
@Test func conv2dBandedIm2colMatches() {
    let x = randomTensor([1, 64, 70, 100], seed: 5)
    let w = randomTensor([3, 64, 3, 3], seed: 6)
    let b = randomTensor([3], seed: 7)
    let got = conv2d(x, weight: w, bias: b, stride: 1, padding: .same(1))
    #expect(relativeError(got, naiveConv2d(Dense(x), Dense(w), Dense(b), stride: 1, padding: .same(1))) < 1e-5)
}

/// Winograd F(2×2, 3×3) and F(2×2, 2×2) where `automatic` picks them (≥ 32 channels each side),
/// with odd output sizes (partial 2×2 tiles), partial groups of 8 tiles, and one-sided or wide zero
/// padding (the upsampling conv's phases pad one side of each axis).
@Test(arguments: [
    ConvCase(n: 2, c: 40, h: 13, w: 11, o: 33, kh: 3, kw: 3, stride: 1, padding: .same(1), bias: true),
    ConvCase(n: 1, c: 32, h: 20, w: 37, o: 48, kh: 3, kw: 3, stride: 1, padding: Padding2D(top: 0, bottom: 1, left: 2, right: 0), bias: false),
    ConvCase(n: 3, c: 35, h: 4, w: 3, o: 32, kh: 3, kw: 3, stride: 1, padding: .same(2), bias: true),
    ConvCase(n: 1, c: 32, h: 34, w: 34, o: 32, kh: 3, kw: 3, stride: 1, padding: .zero, bias: true),
    ConvCase(n: 2, c: 40, h: 13, w: 11, o: 33, kh: 2, kw: 2, stride: 1, padding: Padding2D(top: 1, bottom: 0, left: 0, right: 1), bias: true),
    ConvCase(n: 3, c: 32, h: 8, w: 19, o: 36, kh: 2, kw: 2, stride: 1, padding: Padding2D(top: 0, bottom: 1, left: 1, right: 0), bias: false),
    ConvCase(n: 1, c: 33, h: 6, w: 5, o: 32, kh: 2, kw: 2, stride: 1, padding: .zero, bias: true),
])
func conv2dWinogradMatchesDirectLoops(_ c: ConvCase) {
    let x = randomTensor([c.n, c.c, c.h, c.w], seed: 11, range: -4...4)
    let w = randomTensor([c.o, c.c, c.kh, c.kw], seed: 12)
    let b = c.bias ? randomTensor([c.o], seed: 13) : nil
    let got = conv2d(x, weight: w, bias: b, padding: c.padding)
    let want = naiveConv2d(Dense(x), Dense(w), b.map(Dense.init), stride: 1, padding: c.padding)
    #expect(relativeError(got, want) < 1e-5)
    #expect(got.toArray() == conv2d(x, weight: w, bias: b, padding: c.padding, method: .winograd).toArray(),
            "automatic is Winograd at ≥ 32 channels")
}

/// More tile rows than one block holds: blocks that start and end inside frames.
@Test(arguments: [3, 2])
func conv2dWinogradBlocksSpanFrames(kernel: Int) {
    let x = randomTensor([45, 4, 9, 7], seed: 14), w = randomTensor([3, 4, kernel, kernel], seed: 15)
    let b = randomTensor([3], seed: 16)
    let p = Padding2D(top: 1, bottom: kernel - 2, left: 1, right: kernel - 2)
    let got = conv2d(x, weight: w, bias: b, padding: p, method: .winograd)
    #expect(relativeError(got, naiveConv2d(Dense(x), Dense(w), Dense(b), stride: 1, padding: p)) < 1e-5)
}

@Test func conv2dAcceptsHalfPrecisionWeightsAndStridedInput() {
    let x = randomTensor([2, 3, 9, 10], seed: 8).permuted([0, 1, 3, 2])
    let w = randomTensor([4, 3, 3, 3], seed: 9)
    let w16 = w.converted(to: .f16)
    let got = conv2d(x, weight: w16, bias: nil, stride: 1, padding: .same(1))
    let want = naiveConv2d(Dense(x.contiguous()), Dense(w16.float32()), nil, stride: 1, padding: .same(1))
    #expect(relativeError(got, want) < 1e-5)
}

@Test(arguments: [(3, 1), (1, 0), (5, 2), (7, 3)])
func temporalConvMatchesDirectLoops(kt: Int, pad: Int) {
    // Small frames are convolved as one GEMM per tap; 1056-pixel frames frame by frame.
    for (b, t, h, w) in [(2, 5, 3, 7), (1, 16, 3, 7), (3, 1, 3, 7), (2, 3, 32, 33), (1, 9, 32, 33)] {
        let x = randomTensor([b * t, 6, h, w], seed: UInt64(kt * 10 + t))
        let w = randomTensor([4, 6, kt, 1, 1], seed: 11)
        let bias = randomTensor([4], seed: 12)
        let got = temporalConv(x, weight: w, bias: bias, frames: t, pad: pad)
        let want = naiveTemporalConv(Dense(x), Dense(w), Dense(bias), frames: t, pad: pad)
        #expect(relativeError(got, want) < 1e-5, "b\(b) t\(t) k\(kt)")
    }
    // Conv1d-shaped weights (O, C, k) are accepted too.
    let x = randomTensor([8, 5, 2, 2], seed: 13)
    let w = randomTensor([3, 5, kt], seed: 14)
    let got = temporalConv(x, weight: w, bias: nil, frames: 4, pad: pad)
    #expect(relativeError(got, naiveTemporalConv(Dense(x), Dense(w), nil, frames: 4, pad: pad)) < 1e-5)
}

@Test(arguments: [(2, 2), (3, 3), (2, 1), (3, 2)])
func avgPoolMatchesDirectLoops(kernel: Int, stride: Int) {
    let x = randomTensor([2, 3, 11, 8], seed: 15)
    let got = avgPool2d(x, kernel: kernel, stride: stride)
    let d = Dense(x)
    let ho = (11 - kernel) / stride + 1, wo = (8 - kernel) / stride + 1
    var want = Dense(zeros: [2, 3, ho, wo])
    for n in 0..<2 { for c in 0..<3 { for y in 0..<ho { for xx in 0..<wo {
        var s = 0.0
        for ky in 0..<kernel { for kx in 0..<kernel { s += d[n, c, y * stride + ky, xx * stride + kx] } }
        want[n, c, y, xx] = s / Double(kernel * kernel)
    }}}}
    #expect(relativeError(got, want) < 1e-6)
}
