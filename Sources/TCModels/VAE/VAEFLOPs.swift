/// Floating-point operations of the autoencoder, counted as `torch.utils.flop_counter` counts the
/// reference (spec §5.2): 2 per multiply–accumulate of every convolution (temporal convs over their
/// zero-padded taps), projection and attention product; norms, activations and softmax not counted.
extension VAEConfig {
    /// `frames` frames of H×W pixels through the encoder and `quant_conv`.
    public func encoderFLOPs(frames n: Int, height: Int, width: Int) -> Double {
        var f = 0.0
        func conv(_ cin: Int, _ cout: Int, _ k: Int, _ pixels: Int) { f += 2 * Double(n * pixels * cin * cout * k * k) }
        var (h, w) = (height, width)
        conv(inChannels, ch, 3, h * w)
        var cin = ch
        for i in 0..<levels {
            let cout = channels(level: i)
            for _ in 0..<numResBlocks {
                resnet(cin, cout, h * w, conv)
                cin = cout
            }
            if i < levels - 1 {
                (h, w) = (h / 2, w / 2)
                conv(cout, cout, 3, h * w)
            }
        }
        let c = bottleneckChannels, hw = Double(h * w)
        resnet(c, c, h * w, conv)
        conv(c, c, 1, h * w * 4)
        f += 2 * 2 * Double(n) * hw * hw * Double(c)
        resnet(c, c, h * w, conv)
        let zc = doubleZ ? 2 * zChannels : zChannels
        conv(c, zc, 3, h * w)
        conv(zc, 2 * embedDim, 1, h * w)
        return f
    }

    /// One decode of `frames` latent frames of h×w (one chunk, one video): spec §5.2 gives 37.9 TFLOP
    /// for 16 frames at 40×64. The Fusion keys/values are counted once per call, as the reference
    /// computes them.
    public func decoderFLOPs(frames t: Int, latentHeight: Int, latentWidth: Int) -> Double {
        var f = 0.0
        func conv(_ cin: Int, _ cout: Int, _ k: Int, _ pixels: Int, frames: Int = t) {
            f += 2 * Double(frames * pixels * cin * cout * k * k)
        }
        func videoResnet(_ cin: Int, _ cout: Int, _ pixels: Int) {
            resnet(cin, cout, pixels) { conv($0, $1, $2, $3) }
            f += 2 * 2 * Double(t * pixels * cout * cout * 3)
        }
        var (h, w) = (latentHeight, latentWidth)
        var cin = bottleneckChannels
        conv(zChannels, cin, 3, h * w)
        videoResnet(cin, cin, h * w)
        conv(cin, cin, 1, h * w * 4)
        f += 2 * 2 * Double(t) * Double(h * w) * Double(h * w) * Double(cin)
        videoResnet(cin, cin, h * w)
        let inner = Double(ReferenceFusion.heads * ReferenceFusion.dimHead)
        for i in (0..<levels).reversed() {
            let cout = channels(level: i)
            for _ in 0...numResBlocks {
                videoResnet(cin, cout, h * w)
                cin = cout
            }
            let hw = Double(h * w), c = Double(cout)
            if fusionLevels.contains(i) {
                f += 2 * Double(t) * hw * c * inner           // to_q
                f += 2 * 2 * (2 * hw) * c * inner             // to_k, to_v on both references
                f += 2 * 2 * Double(t) * hw * (2 * hw) * inner  // scores and values
                f += 2 * Double(t) * hw * inner * c           // to_out
            } else {
                conv(cout, cout, 1, h * w, frames: 2)
            }
            if i > 0 {
                (h, w) = (2 * h, 2 * w)
                conv(cout, cout, 3, h * w)
            }
        }
        conv(cin, cin, 1, h * w, frames: 2)
        conv(cin, outChannels, 3, h * w)
        f += 2 * Double(t * h * w * outChannels * outChannels * 3)
        return f
    }

    private func resnet(_ cin: Int, _ cout: Int, _ pixels: Int, _ conv: (Int, Int, Int, Int) -> Void) {
        conv(cin, cout, 3, pixels)
        conv(cout, cout, 3, pixels)
        if cin != cout { conv(cin, cout, 1, pixels) }
    }
}
