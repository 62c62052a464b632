import Testing
import TCCore
import TCModels

@Suite struct VAEDecoderTests {
    /// Spec §2.3: dual-reference decoder (VideoResBlocks, Fusion at levels 2–3, Combiners, time_mix_conv).
    @Test(.enabled(if: SharedFixtures.available("vae_decode_dualref"), "needs ../shared/parity/vae_decode_dualref.safetensors"))
    func vaeDecodeDualrefFixture() throws {
        let results = try SharedFixtures.run("vae_decode_dualref")
        #expect(results.count == 1)
        for r in results { #expect(r.passed, "\(r.output): max \(r.maxAbsErr) rel \(r.relL2Err) \(r.problem ?? "")") }
    }

    /// Spec §1.11 / Q5: the decode driver = decoder on chunks, with output frames t/2−1 and t/2 taken
    /// from a second decode without latent frames 1 and t−2. Checked against direct decoder calls.
    @Test(.enabled(if: SharedFixtures.available("vae_decode_dualref"), "needs ../shared/parity/vae_decode_dualref.safetensors"))
    func decodeDriverChunksAndRedecodesMiddle() throws {
        let fixture = try ParityFixture(path: SharedFixtures.url("vae_decode_dualref")!.path)
        let config = try VAEConfig(fixture.config)
        let decoder = try DualReferenceDecoder(fixture.weights.scoped("first_stage_model"), config: config)
        let refs = try decoder.prepare(DecoderReferences(referenceContext: (0...config.levels).map { try fixture.input("ref_context.\($0)") }))
        let z5 = try fixture.input("z")                                  // (1, 4, t, h, w)
        let latents = z5[0].permutedContiguous([1, 0, 2, 3])              // (t, 4, h, w)
        let t = latents.dim(0)
        let zd = latents * Float(1 / Double(config.scaleFactor))

        func close(_ a: Tensor, _ b: Tensor) -> Bool {
            zip(a.toArray(), b.toArray()).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }
        }
        let full = try decoder(zd, references: refs, frames: t)
        var keep = Array(0..<t); keep.remove(at: 1); keep.remove(at: keep.count - 2)
        let middle = try decoder(zd.gather(frames: keep), references: refs, frames: keep.count)

        let plain = try VideoDecoding(decoder: decoder, chunkLength: 16, redecodeMiddleFrames: false)
            .decode(latents: latents, references: refs)
        #expect(close(plain, full))
        let fixed = try VideoDecoding(decoder: decoder).decode(latents: latents, references: refs)
        for f in 0..<t {
            let want = f == t / 2 - 1 || f == t / 2 ? middle[f - 1] : full[f]
            #expect(close(fixed[f], want), "frame \(f)")
        }
        #expect(!close(fixed[t / 2], full[t / 2]))

        let chunked = try VideoDecoding(decoder: decoder, chunkLength: 4, redecodeMiddleFrames: false)
            .decode(latents: latents, references: refs)
        let first = try decoder(zd.sliced(axis: 0, 0..<4), references: refs, frames: 4)
        let rest = try decoder(zd.sliced(axis: 0, 4..<t), references: refs, frames: t - 4)
        #expect(close(chunked, concat([first, rest], axis: 0)))
    }

    /// Spec §1.12: clamp, (x+1)/2·255, truncation toward zero, (t, H, W, 3).
    @Test func framesToBytesTruncates() throws {
        let x = Tensor([-2, -1, 0, 0.999, 1, 3, 0.5, -0.5, 0.2, 0.3, 0.4, 0.6], [1, 3, 2, 2])
        let b = try framesToBytes(x).toInts()
        // channel-last: pixel (0,0) = channels (x[0], x[4], x[8]), …
        let expected = [-2, 1, 0.2, -1, 3, 0.3, 0, 0.5, 0.4, 0.999, -0.5, 0.6].map { (v: Float) -> Int in
            Int(((Swift.min(Swift.max(v, -1), 1) + 1) / 2 * 255).rounded(.towardZero))
        }
        #expect(b == expected)
        #expect(b[1] == 255 && b[0] == 0 && b[6] == 127)
    }
}
