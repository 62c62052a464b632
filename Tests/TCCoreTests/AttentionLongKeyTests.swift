import Testing
import TCCore

/// More keys than the few-key micro-kernel takes: the GEMM path (scores, unnormalised softmax,
/// output rows scaled by 1/Σ), with query chunks, odd sizes and keys shared across the batch.
@Test(arguments: [
    AttentionCase(b: 2, kvBatch: 2, lq: 70, lk: 300, heads: 3, d: 8, dv: 8, chunk: 32),
    AttentionCase(b: 1, kvBatch: 1, lq: 129, lk: 777, heads: 2, d: 16, dv: 5, chunk: 256),
    AttentionCase(b: 3, kvBatch: 1, lq: 40, lk: 513, heads: 2, d: 8, dv: 8, chunk: 16),
])
func longKeyAttentionMatchesDefinition(_ c: AttentionCase) {
    let q = randomTensor([c.b, c.lq, c.heads * c.d], seed: 50, range: -2...2)
    let k = randomTensor([c.kvBatch, c.lk, c.heads * c.d], seed: 51, range: -2...2)
    let v = randomTensor([c.kvBatch, c.lk, c.heads * c.dv], seed: 52)
    let scale = 1 / Float(c.d).squareRoot()
    let got = attention(q: q, k: k, v: v, heads: c.heads, scale: scale, chunk: c.chunk)
    let want = naiveAttention(Dense(q), Dense(k), Dense(v), heads: c.heads, scale: Double(scale))
    #expect(relativeError(got, want) < 2e-6)
}
