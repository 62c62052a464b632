import COpenBLAS

/// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, row-major, with explicit leading dimensions.
/// Under `ComputePrecision.bf16` large products run in bfloat16 (`BF16GEMM`); f32 is OpenBLAS.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    OpProfile.measure(.gemm, flops: 2 * Double(m) * Double(n) * Double(k)) {
        sgemmKernel(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                    beta: beta, c: c, ldc: ldc)
    }
}

@inline(__always)
private func sgemmKernel(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>,
                         lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>,
                         ldc: Int) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        if beta == 0 {
            for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
        } else if beta != 1 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
        }
        return
    }
    if ComputePrecision.current == .bf16 && BF16GEMM.worthwhile(m: m, n: n, k: k) {
        if BF16GEMM.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                         b: b, ldb: ldb, beta: beta, c: c, ldc: ldc) { return }
        BF16GEMM.fallbackNotice
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

extension Tensor {
    /// Matrix product over the last two axes with batch broadcasting of `self` only:
    /// (…, m, k) · (k, n) → (…, m, n). `other` may be given transposed, as a linear weight (n, k).
    public func matmul(_ other: Tensor, transposeOther: Bool = false) -> Tensor {
        let a = float32()
        let b = other.float32()
        precondition(b.rank == 2, "matmul: right operand must be 2-D, got \(b.shape)")
        let k = a.dim(-1)
        let m = a.count / max(k, 1)
        let n = transposeOther ? b.dim(0) : b.dim(1)
        precondition((transposeOther ? b.dim(1) : b.dim(0)) == k, "matmul: \(a.shape) × \(b.shape)\(transposeOther ? "ᵀ" : "")")
        let out = Tensor(empty: Array(a.shape.dropLast()) + [n])
        sgemm(transB: transposeOther, m: m, n: n, k: k, a: a.f32, lda: k, b: b.f32, ldb: b.dim(1),
              c: out.f32, ldc: n)
        return out
    }

    /// Batched matrix product: (B, m, k) · (B, k, n) → (B, m, n), optionally with either side transposed.
    public func bmm(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        let a = float32(), b = other.float32()
        precondition(a.rank == 3 && b.rank == 3 && a.dim(0) == b.dim(0), "bmm: \(a.shape) × \(b.shape)")
        let batch = a.dim(0)
        let m = transposeSelf ? a.dim(2) : a.dim(1)
        let k = transposeSelf ? a.dim(1) : a.dim(2)
        let n = transposeOther ? b.dim(1) : b.dim(2)
        precondition((transposeOther ? b.dim(2) : b.dim(1)) == k, "bmm: inner dimensions differ")
        let out = Tensor(empty: [batch, m, n])
        for i in 0..<batch {
            sgemm(transA: transposeSelf, transB: transposeOther, m: m, n: n, k: k,
                  a: a.f32 + i * a.dim(1) * a.dim(2), lda: a.dim(2),
                  b: b.f32 + i * b.dim(1) * b.dim(2), ldb: b.dim(2),
                  c: out.f32 + i * m * n, ldc: n)
        }
        return out
    }
}

/// y = x · Wᵀ + b over the last axis: x (…, in), weight (out, in), bias (out).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    OpProfile.measure(.linear, flops: 2 * Double(x.count) * Double(weight.dim(0))) { linearKernel(x, weight: weight, bias: bias) }
}

private func linearKernel(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let xin = x.float32()
    let w = weight.float32()
    let inF = w.dim(1), outF = w.dim(0)
    precondition(xin.dim(-1) == inF, "linear: input \(x.shape) vs weight \(weight.shape)")
    let rows = xin.count / max(inF, 1)
    let out = Tensor(empty: Array(xin.shape.dropLast()) + [outF])
    if let bias {
        let bf = bias.float32()
        let b = bf.f32, o = out.f32
        withExtendedLifetime(bf) {
            parallelChunks(rows, minChunk: 64) { r in
                for i in r { (o + i * outF).update(from: b, count: outF) }
            }
        }
    }
    sgemm(transB: true, m: rows, n: outF, k: inF, a: xin.f32, lda: inF, b: w.f32, ldb: inF,
          beta: bias == nil ? 0 : 1, c: out.f32, ldc: outF)
    return out
}
