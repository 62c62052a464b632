import Testing
import TCCore

/// The four 2×2 phase convolutions equal a 3×3 convolution of the nearest-upsampled input (the
/// float64 definition), edges included: odd sizes, one-pixel frames, batches, half weights, and
/// frames large enough for the banded and batched im2col paths.
@Test(arguments: [[2, 3, 5, 7], [1, 4, 1, 1], [3, 2, 2, 9], [1, 16, 40, 33], [4, 8, 12, 16]])
func upsampledConvolutionMatchesUpsampleThenConv(_ shape: [Int]) {
    let x = randomTensor(shape, seed: 60)
    let w = randomTensor([5, shape[1], 3, 3], seed: 61)
    let b = randomTensor([5], seed: 62)
    let got = conv2dNearestUpsampled2x(x, weight: w, bias: b)
    let want = naiveConv2d(Dense(x.upsampleNearest2x()), Dense(w), Dense(b), stride: 1, padding: .same(1))
    #expect(got.shape == [shape[0], 5, 2 * shape[2], 2 * shape[3]])
    #expect(relativeError(got, want) < 1e-5)
}

@Test func upsampledConvolutionTakesHalfWeightsWithoutBias() {
    let x = randomTensor([2, 3, 6, 5], seed: 63)
    let w = randomTensor([4, 3, 3, 3], seed: 64).converted(to: .f16)
    let got = conv2dNearestUpsampled2x(x, weight: w, bias: nil)
    let want = naiveConv2d(Dense(x.upsampleNearest2x()), Dense(w.float32()), nil, stride: 1, padding: .same(1))
    #expect(relativeError(got, want) < 1e-5)
}

/// With ≥ 32 channels each phase runs as Winograd F(2×2, 2×2), one-sided padding and odd sizes included.
@Test func upsampledConvolutionWithWinogradPhases() {
    let x = randomTensor([2, 32, 7, 9], seed: 65)
    let w = randomTensor([33, 32, 3, 3], seed: 66), b = randomTensor([33], seed: 67)
    let got = conv2dNearestUpsampled2x(x, weight: w, bias: b)
    let want = naiveConv2d(Dense(x.upsampleNearest2x()), Dense(w), Dense(b), stride: 1, padding: .same(1))
    #expect(relativeError(got, want) < 1e-5)
}
