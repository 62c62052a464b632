import TCCore

/// IMAGE frames as the graph passes them: (T, H, W, C) float32, C = 3 (RGB) or 4 (RGBA), nominal
/// range 0…1, display-referred (sRGB-encoded) values as the reference extractors see them. One
/// channel (grey) is accepted too.
enum ImageFrames {
    /// Checks the layout and returns (T, H, W, C).
    static func validate(_ images: Tensor, _ what: String) throws -> (t: Int, h: Int, w: Int, c: Int) {
        guard images.rank == 4, images.shape.allSatisfy({ $0 > 0 }), [1, 3, 4].contains(images.dim(3)) else {
            throw SketchError.invalidInput(what: what, expected: "IMAGE frames (T, H, W, C) with C = 1, 3 or 4",
                                           got: "\(images.shape)")
        }
        return (images.dim(0), images.dim(1), images.dim(2), images.dim(3))
    }

    /// ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B, OpenCV's RGB→GRAY), (T, H, W). Transparent
    /// pixels are composited over `paper` first, so a drawing on a transparent layer reads as lines
    /// on that paper.
    static func luminance(_ images: Tensor, paper: Float) -> Tensor {
        let x = images.float32()
        let t = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3)
        let out = Tensor(empty: [t, h, w])
        let s = x.f32, d = out.f32
        parallelChunks(t * h * w, minChunk: 1 << 14) { r in
            for i in r {
                let px = s + i * c
                var l = c == 1 ? px[0] : 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]
                if c == 4 { l = px[3] * l + (1 - px[3]) * paper }
                d[i] = l
            }
        }
        return out
    }

    /// The colour channels as planes (T·k, H, W), k = 1 or 3, alpha composited over white (the
    /// paper of inked drawings).
    static func colourPlanes(_ images: Tensor) -> Tensor {
        let x = images.float32()
        let t = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3)
        let k = c == 1 ? 1 : 3
        let out = Tensor(empty: [t * k, h, w])
        let s = x.f32, d = out.f32
        let hw = h * w
        parallelFor(t * k) { plane in
            let f = plane / k, ch = plane % k
            let src = s + f * hw * c, dst = d + plane * hw
            for i in 0..<hw {
                let v = src[i * c + ch]
                dst[i] = c == 4 ? src[i * c + 3] * v + (1 - src[i * c + 3]) : v
            }
        }
        return out
    }
}
