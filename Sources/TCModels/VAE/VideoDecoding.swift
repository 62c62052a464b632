import TCCore

/// Spec §1.11–1.12: how the pipeline turns sampled latents into frames with the dual-reference
/// decoder: latents / scale factor, chunks of `temporal_length` frames (timesteps = chunk length),
/// and the middle-frame re-decode (Q5).
public struct VideoDecoding {
    public let decoder: DualReferenceDecoder
    /// Frames per decoder call (`en_and_decode_n_samples_a_time`, default `temporal_length` = 16).
    public var chunkLength: Int
    /// Decode the latents again without latent frames 1 and t−2 and take output frames t/2−1 and t/2
    /// from that decode, as both official drivers do (spec Q5). Off saves 87.5 % of a second decode.
    public var redecodeMiddleFrames: Bool

    public init(decoder: DualReferenceDecoder, chunkLength: Int = 16, redecodeMiddleFrames: Bool = true) {
        self.decoder = decoder
        self.chunkLength = chunkLength
        self.redecodeMiddleFrames = redecodeMiddleFrames
    }

    /// Latents (t, z, h, w) of one video as the sampler returns them (multiplied by the scale factor)
    /// → frames (t, 3, H, W) in about [−1, 1], not clamped.
    public func decode(latents: Tensor, references: DualReferenceDecoder.PreparedReferences) throws -> Tensor {
        guard latents.rank == 4, latents.dim(0) >= 1 else {
            throw ModelInputError.shape(argument: "latents", expected: "(t, \(decoder.config.zChannels), h, w)", got: latents.shape)
        }
        guard references.references.videos == 1 else {
            throw ModelInputError.invalid(argument: "decoder references",
                                          reason: "references of \(references.references.videos) videos; the pipeline decodes one video at a time")
        }
        guard chunkLength >= 1 else {
            throw ModelInputError.invalid(argument: "chunkLength", reason: "must be at least 1, got \(chunkLength)")
        }
        let t = latents.dim(0)
        if redecodeMiddleFrames && t < 4 {
            throw ModelInputError.invalid(argument: "latents",
                                          reason: "the middle-frame re-decode needs at least 4 frames, got \(t); turn it off for shorter clips")
        }
        // The reference multiplies by the float32 rounding of 1/scale_factor.
        let z = latents * Float(1 / Double(decoder.config.scaleFactor))
        let frames = try decodeChunks(z, references)
        if redecodeMiddleFrames {
            var keep = Array(0..<t)
            keep.remove(at: 1)
            keep.remove(at: keep.count - 2)
            let middle = try decodeChunks(z.gather(frames: keep), references)
            // Output frames t/2−1 and t/2 come from positions t/2−2 and t/2−1 of the second decode.
            let per = frames.count / t
            for k in 0..<2 {
                (frames.f32 + (t / 2 - 1 + k) * per).update(from: middle.f32 + (t / 2 - 2 + k) * per, count: per)
            }
        }
        return frames
    }

    private func decodeChunks(_ z: Tensor, _ refs: DualReferenceDecoder.PreparedReferences) throws -> Tensor {
        let t = z.dim(0)
        if t <= chunkLength { return try decoder(z, references: refs, frames: t) }
        var parts: [Tensor] = []
        var start = 0
        while start < t {
            let n = min(chunkLength, t - start)
            parts.append(try decoder(z.sliced(axis: 0, start..<(start + n)), references: refs, frames: n))
            start += n
        }
        return concat(parts, axis: 0)
    }
}

/// Spec §1.12: frames (t, 3, H, W) → (t, H, W, 3) bytes as the reference writes them: clamp to
/// [−1, 1], (x + 1)/2·255, then truncation toward zero (not rounding).
public func framesToBytes(_ frames: Tensor) throws -> Tensor {
    guard frames.rank == 4, frames.dim(1) == 3 else {
        throw ModelInputError.shape(argument: "frames", expected: "(t, 3, H, W)", got: frames.shape)
    }
    let x = frames.float32()
    let t = x.dim(0), h = x.dim(2), w = x.dim(3)
    let out = Tensor(empty: [t, h, w, 3], dtype: .u8)
    let src = x.f32, dst = out.typedPointer(UInt8.self)
    parallelFor(t * h) { row in
        let f = row / h, y = row % h
        for c in 0..<3 {
            let s = src + ((f * 3 + c) * h + y) * w
            let d = dst + (f * h + y) * w * 3 + c
            for i in 0..<w {
                let v = (Swift.min(Swift.max(s[i], -1), 1) + 1) / 2
                d[3 * i] = UInt8(v * 255)
            }
        }
    }
    return out
}

/// Clamps frames to [−1, 1] (the float counterpart of `framesToBytes`).
public func clampFrames(_ frames: Tensor) -> Tensor {
    frames.map { Swift.min(Swift.max($0, -1), 1) }
}
