import TCCore

/// GEGLU feed-forward (spec §2.1.7): `net.0.proj` Linear(C → 8C) split into value | gate,
/// value·gelu_erf(gate), then `net.2` Linear(4C → C).
public struct FeedForward {
    public let proj: Linear, out: Linear
    public let norm: LayerNorm?

    /// `norm` is the block's pre-norm (applied per row inside the chunk loop).
    public init(_ w: WeightReader, _ key: String, dim: Int, mult: Int = 4, norm: LayerNorm? = nil) throws {
        proj = try Linear(w, "\(key).net.0.proj", in: dim, out: dim * mult * 2)
        out = try Linear(w, "\(key).net.2", in: dim * mult, out: dim)
        self.norm = norm
    }

    /// Rows of the (rows, 8C) intermediate held at once: the full level-0 intermediate of the real
    /// model would be 0.4 GB per video; chunks keep it at a few tens of MB.
    static let rowChunk = 2048

    /// x (…, C) ← x + FF(norm(x)), in place, chunk by chunk over rows.
    func addInPlace(_ x: Tensor) {
        let d = x.dim(-1)
        let rows = x.count / max(d, 1)
        var r0 = 0
        while r0 < rows {
            let m = min(FeedForward.rowChunk, rows - r0)
            let chunk = Tensor(storage: x.storage, dtype: .f32, shape: [m, d], offset: x.offset + r0 * d)
            let normed = norm.map { $0(chunk) } ?? chunk
            linearAccumulate(proj(normed).geglu(), out, into: chunk)
            r0 += m
        }
    }
}
