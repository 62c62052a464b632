import Testing
import TCCore

@Suite struct SyntheticWeightsTests {
    @Test func producesDeclaredShapesDeterministically() throws {
        let a = SyntheticWeights(seed: 7), b = SyntheticWeights(seed: 7), c = SyntheticWeights(seed: 8)
        let w = WeightReader(a).scoped("net")
        let t = try w("layer.weight", shape: [4, 3, 3, 3])
        #expect(t.shape == [4, 3, 3, 3])
        #expect(a.allKeys == ["net.layer.weight"])
        #expect(a.contains("net.layer.weight") && !a.contains("net.other.weight"))
        // Values depend on key and seed only.
        #expect(try b.tensor("net.layer.weight", shape: [4, 3, 3, 3]).toArray() == t.toArray())
        #expect(try c.tensor("net.layer.weight", shape: [4, 3, 3, 3]).toArray() != t.toArray())
        // Fan-in scaled: |x| ≤ 1/√27.
        #expect(t.maxAbs() <= 1 / Float(27).squareRoot())
        // A read without a shape returns the recorded tensor; an unknown key is an error.
        #expect(try w("layer.weight").toArray() == t.toArray())
        #expect(throws: WeightError.self) { try w("unknown.bias") }
    }

    @Test func normGainsAreCentredOnOne() throws {
        let s = SyntheticWeights(dtype: .f16)
        let g = try s.tensor("norm.weight", shape: [64])
        #expect(g.dtype == .f16)
        let v = g.toArray()
        #expect(v.allSatisfy { abs($0 - 1) <= 0.1001 })
        let bias = try s.tensor("norm.bias", shape: [64]).toArray()
        #expect(bias.allSatisfy { abs($0) <= 0.1001 })
    }
}
