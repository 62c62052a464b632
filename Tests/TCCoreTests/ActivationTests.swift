import Foundation
import Testing
import TCCore

@Test func activationsMatchTheirDefinitions() {
    let x = randomTensor([3, 4, 37], seed: 30, range: -9...9)
    let d = Dense(x)
    func check(_ got: Tensor, _ f: (Double) -> Double, _ name: String) {
        #expect(relativeError(got, Dense(shape: d.shape, v: d.v.map(f))) < 2e-6, "\(name)")
    }
    check(x.silu(), { $0 / (1 + exp(-$0)) }, "silu")
    check(x.gelu(), { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }, "gelu")
    check(x.quickGelu(), { $0 / (1 + exp(-1.702 * $0)) }, "quickGelu")
    check(x.sigmoid(), { 1 / (1 + exp(-$0)) }, "sigmoid")
    check(x.tanh(), { Foundation.tanh($0) }, "tanh")
    check(x.relu(), { max($0, 0) }, "relu")
    check(x.leakyRelu(0.2), { $0 >= 0 ? $0 : 0.2 * $0 }, "leakyRelu")
    let a = x.copy(); a.siluInPlace()
    check(a, { $0 / (1 + exp(-$0)) }, "siluInPlace")
    let b = x.copy(); b.geluInPlace()
    check(b, { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }, "geluInPlace")
}

@Test func gegluSplitsValueThenGate() {
    let x = randomTensor([2, 3, 10], seed: 31, range: -4...4)
    let got = x.geglu()
    #expect(got.shape == [2, 3, 5])
    let d = Dense(x)
    var want = Dense(zeros: [2, 3, 5])
    for i in 0..<6 { for j in 0..<5 {
        let a = d.v[i * 10 + j], g = d.v[i * 10 + 5 + j]
        want.v[i * 5 + j] = a * 0.5 * g * (1 + erf(g / 2.0.squareRoot()))
    }}
    #expect(relativeError(got, want) < 2e-6)
}

@Test func softmaxIsStableAndNormalised() {
    let x = randomTensor([5, 3, 23], seed: 32, range: -50...500)
    let got = x.softmax()
    #expect(relativeError(got, naiveSoftmaxRows(Dense(x))) < 1e-6)
    let sums = got.reshaped([15, 23]).toArray()
    for r in 0..<15 {
        let s = sums[(r * 23)..<(r * 23 + 23)].reduce(0, +)
        #expect(abs(s - 1) < 1e-5)
    }
    // A -inf entry gets weight 0.
    let masked = Tensor([0, -.infinity, 1], [1, 3]).softmax().toArray()
    #expect(masked[1] == 0 && abs(masked[0] + masked[2] - 1) < 1e-6)
}
