import Testing
import TCCore

struct AttentionCase: CustomTestStringConvertible, Sendable {
    let b: Int, kvBatch: Int, lq: Int, lk: Int, heads: Int, d: Int, dv: Int, chunk: Int
    var testDescription: String { "b\(b)/kv\(kvBatch) \(lq)×\(lk) \(heads)h d\(d)/\(dv) chunk \(chunk)" }
}

@Test(arguments: [
    // Small-sequence path (temporal attention: 16 frames per position).
    AttentionCase(b: 7, kvBatch: 7, lq: 16, lk: 16, heads: 5, d: 8, dv: 8, chunk: 512),
    AttentionCase(b: 3, kvBatch: 3, lq: 5, lk: 9, heads: 2, d: 3, dv: 4, chunk: 512),
    // Chunked path: queries in several chunks, cross-attention with more keys than queries.
    AttentionCase(b: 2, kvBatch: 2, lq: 100, lk: 70, heads: 3, d: 8, dv: 8, chunk: 16),
    AttentionCase(b: 1, kvBatch: 1, lq: 65, lk: 130, heads: 1, d: 16, dv: 5, chunk: 64),
    AttentionCase(b: 2, kvBatch: 2, lq: 200, lk: 33, heads: 4, d: 4, dv: 4, chunk: 512),
    // Keys and values shared by every batch item (the decoder fusion's reference tokens).
    AttentionCase(b: 3, kvBatch: 1, lq: 90, lk: 120, heads: 2, d: 8, dv: 8, chunk: 32),
    AttentionCase(b: 4, kvBatch: 1, lq: 10, lk: 12, heads: 2, d: 8, dv: 8, chunk: 32),
    // More keys than the few-key micro-kernel takes: the GEMM path (scores, unnormalised softmax,
    // output rows scaled by 1/Σ), with query chunks, odd sizes and shared keys.
    AttentionCase(b: 2, kvBatch: 2, lq: 70, lk: 300, heads: 3, d: 8, dv: 8, chunk: 32),
    AttentionCase(b: 1, kvBatch: 1, lq: 129, lk: 777, heads: 2, d: 16, dv: 5, chunk: 256),
    AttentionCase(b: 3, kvBatch: 1, lq: 40, lk: 513, heads: 2, d: 8, dv: 8, chunk: 16),
    // Value widths of 64k on AVX-512: the key-blocked kernel (running max and sum), with partial
    // query blocks, a partial key block and strip, and an odd head width.
    AttentionCase(b: 2, kvBatch: 1, lq: 437, lk: 1000, heads: 2, d: 40, dv: 64, chunk: 256),
    AttentionCase(b: 1, kvBatch: 1, lq: 50, lk: 300, heads: 1, d: 64, dv: 128, chunk: 256),
    AttentionCase(b: 2, kvBatch: 2, lq: 7, lk: 2561, heads: 3, d: 64, dv: 64, chunk: 256),
])
func attentionMatchesDefinition(_ c: AttentionCase) {
    let q = randomTensor([c.b, c.lq, c.heads * c.d], seed: 40, range: -2...2)
    let k = randomTensor([c.kvBatch, c.lk, c.heads * c.d], seed: 41, range: -2...2)
    let v = randomTensor([c.kvBatch, c.lk, c.heads * c.dv], seed: 42)
    let scale = 1 / Float(c.d).squareRoot()
    let got = attention(q: q, k: k, v: v, heads: c.heads, scale: scale, chunk: c.chunk)
    let want = naiveAttention(Dense(q), Dense(k), Dense(v), heads: c.heads, scale: Double(scale))
    #expect(relativeError(got, want) < 2e-6)
}

/// The key-blocked kernel and the score-matrix path agree to float rounding on a Fusion-like shape
/// (each is within 2e-6 of the float64 definition; they round differently).
@Test func keyBlockedAttentionMatchesScoreMatrixPath() {
    let q = randomTensor([1, 300, 128], seed: 46, range: -3...3)
    let k = randomTensor([1, 2048, 128], seed: 47, range: -3...3)
    let v = randomTensor([1, 2048, 128], seed: 48)
    let a = attention(q: q, k: k, v: v, heads: 2, scale: 0.125)
    let b = attention(q: q, k: k, v: v, heads: 2, scale: 0.125, method: .scoreMatrix)
    #expect(relativeError(a, Dense(b)) < 4e-6)
}

@Test func attentionTakesStridedAndHalfInputs() {
    let q = randomTensor([2, 8, 80], seed: 43).permuted([0, 1, 2]).sliced(axis: 2, 8..<72)
    let k = randomTensor([2, 90, 64], seed: 44).converted(to: .f16)
    let v = randomTensor([2, 90, 64], seed: 45)
    let got = attention(q: q, k: k, v: v, heads: 4, scale: 0.25)
    let want = naiveAttention(Dense(q.contiguous()), Dense(k.float32()), Dense(v), heads: 4, scale: 0.25)
    #expect(relativeError(got, want) < 2e-6)
}
