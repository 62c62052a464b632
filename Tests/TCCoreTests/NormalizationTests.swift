import Testing
import TCCore

@Test(arguments: [1, 2, 3, 6])
func groupNormMatchesDefinition(span: Int) {
    let x = randomTensor([6, 12, 5, 7], seed: UInt64(span), range: -3...5)
    let g = randomTensor([12], seed: 20), b = randomTensor([12], seed: 21)
    for silu in [false, true] {
        for affine in [true, false] {
            let got = groupNorm(x, groups: 4, weight: affine ? g : nil, bias: affine ? b : nil, eps: 1e-5, span: span, silu: silu)
            let want = naiveGroupNorm(Dense(x), groups: 4, gamma: affine ? Dense(g) : nil, beta: affine ? Dense(b) : nil,
                                      eps: 1e-5, span: span, silu: silu)
            #expect(relativeError(got, want) < 2e-6, "span \(span) silu \(silu) affine \(affine)")
        }
    }
}

@Test func groupNormLargeOffsetIsStable() {
    // A large common offset: a one-pass E[x²]−E[x]² in float would lose the variance.
    let x = (randomTensor([2, 8, 33, 35], seed: 22) * 0.01) + 1000
    let got = groupNorm(x, groups: 2, weight: nil, bias: nil, eps: 1e-6)
    #expect(relativeError(got, naiveGroupNorm(Dense(x), groups: 2, gamma: nil, beta: nil, eps: 1e-6, span: 1, silu: false)) < 1e-3)
}

@Test func groupNormOn5DShapesAndSingleGroups() {
    let x = randomTensor([4, 6, 3, 2, 5], seed: 23)
    let got = groupNorm(x, groups: 1, weight: nil, bias: nil, eps: 1e-6, span: 2)
    #expect(relativeError(got, naiveGroupNorm(Dense(x), groups: 1, gamma: nil, beta: nil, eps: 1e-6, span: 2, silu: false)) < 2e-6)
}

@Test func layerNormMatchesDefinition() {
    let x = randomTensor([3, 7, 13], seed: 24, range: -4...4)
    let g = randomTensor([13], seed: 25), b = randomTensor([13], seed: 26)
    for (gg, bb) in [(g as Tensor?, b as Tensor?), (g, nil), (nil, nil)] {
        let got = layerNorm(x, weight: gg, bias: bb, eps: 1e-5)
        let want = naiveLayerNorm(Dense(x), gamma: gg.map(Dense.init), beta: bb.map(Dense.init), eps: 1e-5)
        #expect(relativeError(got, want) < 2e-6)
    }
    let half = layerNorm(x, weight: g.converted(to: .f16), bias: b.converted(to: .bf16), eps: 1e-5)
    let want = naiveLayerNorm(Dense(x), gamma: Dense(g.converted(to: .f16).float32()), beta: Dense(b.converted(to: .bf16).float32()), eps: 1e-5)
    #expect(relativeError(half, want) < 2e-6)
}

@Test func instanceNormIsPerChannelPerSample() {
    let x = randomTensor([2, 5, 9, 11], seed: 27, range: -2...3)
    let got = instanceNorm(x, eps: 1e-5)
    #expect(relativeError(got, naiveGroupNorm(Dense(x), groups: 5, gamma: nil, beta: nil, eps: 1e-5, span: 1, silu: false)) < 2e-6)
}
