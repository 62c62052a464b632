import TCCore

/// `input_hint_block` of the ControlNet (fixture (i)): the sketch in pixel space → features at the
/// latent size. Eight 3×3 convs (padding 1, bias) hint_ch → 16 → 16 → 32 (s2) → 32 → 96 (s2) → 96
/// → 256 (s2) → model_channels with SiLU between them, keys `input_hint_block.{0,2,…,14}`. A
/// stride-2 conv maps n → ⌈n/2⌉. It ignores the timestep and the context, so a sampling run
/// computes it once per video (`SketchGuidance`).
public struct HintBlock {
    public let convs: [Conv2d]

    public init(_ w: WeightReader, _ key: String, hintChannels: Int, modelChannels: Int) throws {
        let widths = ControlNetConfig.hintWidths
        let ins = [hintChannels] + widths, outs = widths + [modelChannels]
        let strides = ControlNetConfig.hintStrides + [1]
        convs = try (0..<outs.count).map { i in
            try Conv2d(w, "\(key).\(2 * i)", in: ins[i], out: outs[i], kernel: 3, stride: strides[i], padding: .same(1))
        }
    }

    /// The output size of an H×W hint: three halvings rounding up.
    public static func outputSize(_ n: Int) -> Int {
        ControlNetConfig.hintStrides.reduce(n) { s, stride in stride == 2 ? (s + 1) / 2 : s }
    }

    /// hint (N, hint_ch, H, W) → guided hint (N, model_channels, ⌈H/8⌉, ⌈W/8⌉), one sample at a
    /// time: the 16-channel maps at full resolution are 10 MB per 320×512 frame, the im2col of the
    /// second conv ten times that.
    func callAsFunction(_ hint: Tensor) -> Tensor {
        let x = hint.float32()
        let n = x.dim(0), per = x.count / max(n, 1)
        let mc = convs.last!.weight.dim(0)
        let h = HintBlock.outputSize(x.dim(2)), w = HintBlock.outputSize(x.dim(3))
        let out = Tensor(empty: [n, mc, h, w])
        for i in 0..<n {
            var y = Tensor(storage: x.storage, dtype: .f32, shape: [1] + Array(x.shape.dropFirst()), offset: x.offset + i * per)
            for (j, conv) in convs.enumerated() {
                y = conv(y)
                if j < convs.count - 1 { y.siluInPlace() }
            }
            (out.f32 + i * mc * h * w).update(from: y.f32, count: mc * h * w)
        }
        return out
    }
}
