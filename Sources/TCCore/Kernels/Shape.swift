import Foundation

/// Concatenation along `axis` into a new contiguous tensor (dtype of the first input).
public func concat(_ parts: [Tensor], axis: Int) -> Tensor {
    OpProfile.measure(.layout) {
        precondition(!parts.isEmpty, "concat of nothing")
        let r = parts[0].rank
        let a = axis < 0 ? r + axis : axis
        for p in parts {
            precondition(p.rank == r && (0..<r).allSatisfy { $0 == a || p.shape[$0] == parts[0].shape[$0] },
                         "concat: shapes \(parts.map(\.shape)) differ off axis \(a)")
        }
        let dtype = parts[0].dtype
        var shape = parts[0].shape
        shape[a] = parts.reduce(0) { $0 + $1.shape[a] }
        let out = Tensor(empty: shape, dtype: dtype)
        let outer = shape[0..<a].reduce(1, *)
        let innerOut = shape[a...].reduce(1, *) * dtype.byteSize
        var at = 0
        for p in parts {
            let c = (p.dtype == dtype ? p : p.converted(to: dtype)).contiguous()
            let block = c.shape[a...].reduce(1, *) * dtype.byteSize
            let src = c.rawPointer, dst = out.rawPointer
            let start = at
            parallelChunks(outer, minChunk: 64) { rows in
                for i in rows {
                    (dst + i * innerOut + start).copyMemory(from: src + i * block, byteCount: block)
                }
            }
            at += block
        }
        return out
    }
}

extension Tensor {
    /// Permuted contiguous copy, e.g. (b t) c h w → b c t h w.
    public func permutedContiguous(_ axes: [Int]) -> Tensor { OpProfile.measure(.layout) { permuted(axes).contiguous() } }

    /// Nearest-neighbour ×2 upsampling of (N, C, H, W).
    public func upsampleNearest2x() -> Tensor {
        OpProfile.measure(.layout) {
            let src = float32()
            let n = src.dim(0), c = src.dim(1), h = src.dim(2), w = src.dim(3)
            let out = Tensor(empty: [n, c, 2 * h, 2 * w])
            let s = src.f32, d = out.f32
            parallelFor(n * c) { j in
                let si = s + j * h * w, di = d + j * 4 * h * w
                for y in 0..<h {
                    let row = di + 2 * y * 2 * w
                    for x in 0..<w {
                        let v = si[y * w + x]
                        row[2 * x] = v
                        row[2 * x + 1] = v
                    }
                    (row + 2 * w).update(from: row, count: 2 * w)
                }
            }
            return out
        }
    }

    /// Frames `indices` of the leading axis, gathered into a new tensor.
    public func gather(frames indices: [Int]) -> Tensor {
        OpProfile.measure(.layout) {
            let src = contiguous()
            let per = src.count / max(src.dim(0), 1) * dtype.byteSize
            let out = Tensor(empty: [indices.count] + Array(shape.dropFirst()), dtype: dtype)
            for (i, f) in indices.enumerated() {
                precondition(f >= 0 && f < shape[0], "frame \(f) out of \(shape[0])")
                (out.rawPointer + i * per).copyMemory(from: src.rawPointer + f * per, byteCount: per)
            }
            return out
        }
    }
}

/// Sinusoidal embedding of integer-valued steps, cosines first (spec §4.4): for i < dim/2,
/// f_i = exp(−ln(10000)·i/(dim/2)), embedding = [cos(t·f), sin(t·f)]. Shape (N, dim).
public func timestepEmbedding(_ t: [Float], dim: Int, maxPeriod: Double = 10000) -> Tensor {
    let half = dim / 2
    let out = Tensor(zeros: [t.count, dim])
    let p = out.f32
    // Float32 at every step, in the reference's order: exp((−ln P · i) / half).
    let c = Float(-log(maxPeriod))
    let freqs = (0..<half).map { expf(c * Float($0) / Float(half)) }
    for (n, tv) in t.enumerated() {
        for i in 0..<half {
            let a = tv * freqs[i]
            p[n * dim + i] = cosf(a)
            p[n * dim + half + i] = sinf(a)
        }
    }
    return out
}
