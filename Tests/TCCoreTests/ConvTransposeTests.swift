import Testing
import TCCore

/// Direct scatter loops in float64, written from the ConvTranspose2d definition: the independent
/// reference for the GEMM + col2im path.
private func naiveConvTranspose2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, padding: Padding2D,
                                  outputPadding: Int) -> (shape: [Int], values: [Float]) {
    let n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3)
    let cout = w.dim(1), kh = w.dim(2), kw = w.dim(3)
    let ho = (h - 1) * stride - padding.top - padding.bottom + kh + outputPadding
    let wo = (wd - 1) * stride - padding.left - padding.right + kw + outputPadding
    let xs = x.toArray(), ws = w.toArray(), bs = b?.toArray()
    var acc = [Double](repeating: 0, count: n * cout * ho * wo)
    for i in 0..<n { for co in 0..<cout { for oy in 0..<ho { for ox in 0..<wo {
        acc[((i * cout + co) * ho + oy) * wo + ox] = Double(bs?[co] ?? 0)
    }}}}
    for i in 0..<n { for ci in 0..<cin { for iy in 0..<h { for ix in 0..<wd {
        let v = Double(xs[((i * cin + ci) * h + iy) * wd + ix])
        for co in 0..<cout { for ky in 0..<kh { for kx in 0..<kw {
            let oy = iy * stride + ky - padding.top, ox = ix * stride + kx - padding.left
            if oy < 0 || oy >= ho || ox < 0 || ox >= wo { continue }
            acc[((i * cout + co) * ho + oy) * wo + ox] += v * Double(ws[((ci * cout + co) * kh + ky) * kw + kx])
        }}}
    }}}}
    return ([n, cout, ho, wo], acc.map { Float($0) })
}

private func seededTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var s = seed
    let values = (0..<shape.reduce(1, *)).map { _ -> Float in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Float(s >> 40) / Float(1 << 24) * 2 - 1
    }
    return Tensor(values, shape)
}

struct ConvTransposeCase: CustomTestStringConvertible, Sendable {
    let kernel: (Int, Int), stride: Int, padding: Padding2D, outputPadding: Int, bias: Bool
    var testDescription: String {
        "k\(kernel.0)x\(kernel.1) s\(stride) p\(padding.top),\(padding.bottom),\(padding.left),\(padding.right) op\(outputPadding)\(bias ? "" : " nobias")"
    }
}

@Test(arguments: [
    ConvTransposeCase(kernel: (4, 4), stride: 2, padding: .same(1), outputPadding: 0, bias: true),  // Anime2Sketch up-conv
    ConvTransposeCase(kernel: (3, 3), stride: 1, padding: .same(1), outputPadding: 0, bias: true),
    ConvTransposeCase(kernel: (3, 3), stride: 2, padding: .same(1), outputPadding: 1, bias: true),
    ConvTransposeCase(kernel: (5, 3), stride: 3, padding: .zero, outputPadding: 2, bias: false),
    ConvTransposeCase(kernel: (2, 2), stride: 2, padding: .zero, outputPadding: 0, bias: true),
    ConvTransposeCase(kernel: (1, 1), stride: 1, padding: .zero, outputPadding: 0, bias: true),
    ConvTransposeCase(kernel: (4, 5), stride: 2, padding: Padding2D(top: 2, bottom: 0, left: 1, right: 3),
                      outputPadding: 1, bias: true),
    ConvTransposeCase(kernel: (7, 7), stride: 1, padding: .same(3), outputPadding: 0, bias: true),
])
func convTransposeMatchesScatterLoops(_ c: ConvTransposeCase) {
    let x = seededTensor([2, 5, 13, 9], seed: 11)
    let w = seededTensor([5, 3, c.kernel.0, c.kernel.1], seed: 12)
    let b = c.bias ? seededTensor([3], seed: 13) : nil
    let got = convTranspose2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding, outputPadding: c.outputPadding)
    let want = naiveConvTranspose2d(x, w, b, stride: c.stride, padding: c.padding, outputPadding: c.outputPadding)
    #expect(got.shape == want.shape)
    let err = zip(got.toArray(), want.values).map { abs($0 - $1) }.max() ?? .infinity
    #expect(err < 1e-5)
}

/// Inputs large enough to be split into several row bands must give the same result as one band.
@Test func convTransposeBandsMatchScatterLoops() {
    let x = seededTensor([1, 4, 70, 61], seed: 21)
    let w = seededTensor([4, 160, 4, 4], seed: 22)
    let b = seededTensor([160], seed: 23)
    let got = convTranspose2d(x, weight: w, bias: b, stride: 2, padding: .same(1))
    let want = naiveConvTranspose2d(x, w, b, stride: 2, padding: .same(1), outputPadding: 0)
    #expect(got.shape == [1, 160, 140, 122])
    let err = zip(got.toArray(), want.values).map { abs($0 - $1) }.max() ?? .infinity
    #expect(err < 1e-5)
}

/// A stride-s transposed conv is the adjoint of the stride-s conv with the same weight:
/// ⟨conv(x), y⟩ = ⟨x, convT(y)⟩. Ties the new kernel to the existing conv2d independently of the loops.
@Test func convTransposeIsAdjointOfConv2d() {
    let x = seededTensor([1, 3, 16, 12], seed: 31)
    let w = seededTensor([6, 3, 4, 4], seed: 32)
    let y = conv2d(x, weight: w, bias: nil, stride: 2, padding: .same(1))
    let r = seededTensor(y.shape, seed: 33)
    let back = convTranspose2d(r, weight: w, bias: nil, stride: 2, padding: .same(1))
    #expect(back.shape == x.shape)
    let lhs = zip(y.toArray(), r.toArray()).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    let rhs = zip(x.toArray(), back.toArray()).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    #expect(abs(lhs - rhs) < 1e-3 * max(1, abs(lhs)))
}
