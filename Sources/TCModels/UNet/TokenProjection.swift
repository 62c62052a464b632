import TCCore

// The transformers work on token matrices while the UNet keeps (b·t, c, h, w) maps. The layout
// change is folded into the projection GEMMs (a transposed operand and a strided output), so no
// permuted copy of the activations is ever made.

/// Maps (B·T, C, h, w) to tokens (B, h·w, T, O) = proj(x) over channels, i.e. (B·h·w, T, O) token
/// sequences along time. With `frames` = 1 it is the spatial layout (N, h·w, O).
func projectToTokens(_ x: Tensor, _ proj: Linear, frames: Int) -> Tensor {
    let src = x.float32()
    let w = proj.weight.float32()
    let nt = src.dim(0), c = src.dim(1)
    let hw = src.count / max(nt * c, 1)
    let o = w.dim(0)
    precondition(w.dim(1) == c && nt % frames == 0, "projectToTokens: \(x.shape) with weight \(proj.weight.shape)")
    let b = nt / frames
    let out = Tensor(empty: [b, hw, frames, o])
    fillRows(out, rowLength: o, with: proj.bias)
    let beta: Float = proj.bias == nil ? 0 : 1
    for bi in 0..<b {
        for t in 0..<frames {
            sgemm(transA: true, transB: true, m: hw, n: o, k: c,
                  a: src.f32 + (bi * frames + t) * c * hw, lda: hw, b: w.f32, ldb: c,
                  beta: beta, c: out.f32 + (bi * hw * frames + t) * o, ldc: frames * o)
        }
    }
    return out
}

/// The inverse of `projectToTokens`: tokens (B, h·w, T, C') → `residual` + proj(tokens) as
/// (B·T, C, h, w) maps.
func projectFromTokens(_ tokens: Tensor, _ proj: Linear, frames: Int, residual: Tensor) -> Tensor {
    let tok = tokens.float32()
    let w = proj.weight.float32()
    let out = residual.float32().copy()
    let nt = out.dim(0), c = out.dim(1)
    let hw = out.count / max(nt * c, 1)
    let ci = w.dim(1)
    precondition(w.dim(0) == c && tok.count == nt * hw * ci, "projectFromTokens: \(tokens.shape) → \(residual.shape)")
    if let bias = proj.bias { addChannelBias(out, bias) }
    let b = nt / frames
    for bi in 0..<b {
        for t in 0..<frames {
            sgemm(transB: true, m: c, n: hw, k: ci, a: w.f32, lda: ci,
                  b: tok.f32 + (bi * hw * frames + t) * ci, ldb: frames * ci,
                  beta: 1, c: out.f32 + (bi * frames + t) * c * hw, ldc: hw)
        }
    }
    return out
}

/// out += input · Wᵀ + b over the last axis, in place (residual connections).
func linearAccumulate(_ input: Tensor, _ proj: Linear, into out: Tensor) {
    let x = input.float32(), w = proj.weight.float32()
    let k = w.dim(1), n = w.dim(0)
    let rows = x.count / max(k, 1)
    precondition(out.isContiguous && out.count == rows * n, "linearAccumulate: \(input.shape) → \(out.shape)")
    if let bias = proj.bias { addRows(out, rowLength: n, bias) }
    sgemm(transB: true, m: rows, n: n, k: k, a: x.f32, lda: k, b: w.f32, ldb: k, beta: 1, c: out.f32, ldc: n)
}

/// Sets every row of `t` (rows of `rowLength`) to `bias`, or to zero without one.
func fillRows(_ t: Tensor, rowLength: Int, with bias: Tensor?) {
    let p = t.f32
    let rows = t.count / max(rowLength, 1)
    guard let bias else {
        p.update(repeating: 0, count: t.count)
        return
    }
    let b = bias.float32()
    parallelChunks(rows, minChunk: 64) { r in
        for i in r { (p + i * rowLength).update(from: b.f32, count: rowLength) }
    }
}

/// Adds `bias` to every row of `t`, in place.
func addRows(_ t: Tensor, rowLength: Int, _ bias: Tensor) {
    let b = bias.float32()
    let p = t.f32, bp = b.f32
    let rows = t.count / max(rowLength, 1)
    parallelChunks(rows, minChunk: 64) { r in
        for i in r {
            let row = p + i * rowLength
            for j in 0..<rowLength { row[j] += bp[j] }
        }
    }
}

/// Adds bias[c] to channel c of an (N, C, …) tensor, in place.
func addChannelBias(_ t: Tensor, _ bias: Tensor) {
    let b = bias.float32()
    let n = t.dim(0), c = t.dim(1)
    let inner = t.count / max(n * c, 1)
    let p = t.f32, bp = b.f32
    parallelFor(n * c) { j in
        let v = bp[j % c]
        let row = p + j * inner
        for i in 0..<inner { row[i] += v }
    }
}
