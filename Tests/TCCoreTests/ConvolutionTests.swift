import Testing
import TCCore

/// Direct-loop convolution: the independent reference for the im2col/GEMM path.
func naiveConv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, padding: Padding2D) -> [Float] {
    let n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3)
    let o = w.dim(0), kh = w.dim(2), kw = w.dim(3)
    let ho = (h + padding.top + padding.bottom - kh) / stride + 1
    let wo = (wd + padding.left + padding.right - kw) / stride + 1
    let xs = x.toArray(), ws = w.toArray(), bs = b?.toArray()
    var out = [Float](repeating: 0, count: n * o * ho * wo)
    for i in 0..<n { for oc in 0..<o { for oy in 0..<ho { for ox in 0..<wo {
        var acc = Double(bs?[oc] ?? 0)
        for ic in 0..<c { for ky in 0..<kh { for kx in 0..<kw {
            let iy = oy * stride + ky - padding.top, ix = ox * stride + kx - padding.left
            if iy < 0 || iy >= h || ix < 0 || ix >= wd { continue }
            acc += Double(xs[((i * c + ic) * h + iy) * wd + ix]) * Double(ws[((oc * c + ic) * kh + ky) * kw + kx])
        }}}
        out[((i * o + oc) * ho + oy) * wo + ox] = Float(acc)
    }}}}
    return out
}

@Test(arguments: [
    (3, 1, Padding2D.same(1)), (3, 2, Padding2D.same(1)), (3, 2, Padding2D(top: 0, bottom: 1, left: 0, right: 1)),
    (1, 1, Padding2D.zero), (4, 2, Padding2D.same(1)), (14, 14, Padding2D.zero),
])
func conv2dMatchesDirectLoops(kernel: Int, stride: Int, padding: Padding2D) {
    let x = randomTensor([2, 3, 29, 31], seed: 1)
    let w = randomTensor([5, 3, kernel, kernel], seed: 2)
    let b = randomTensor([5], seed: 3)
    let got = conv2d(x, weight: w, bias: b, stride: stride, padding: padding).toArray()
    let want = naiveConv2d(x, w, b, stride: stride, padding: padding)
    #expect(got.count == want.count)
    let err = zip(got, want).map { abs($0 - $1) }.max() ?? 0
    #expect(err < 1e-4)
}
