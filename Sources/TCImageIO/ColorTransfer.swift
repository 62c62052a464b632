import Foundation
import TCCore

/// The sRGB transfer function (IEC 61966-2-1), exact piecewise form.
public enum ColorTransfer {
    @inline(__always) public static func srgbToLinear(_ v: Float) -> Float {
        v <= 0.04045 ? v / 12.92 : powf((v + 0.055) / 1.055, 2.4)
    }

    @inline(__always) public static func linearToSrgb(_ v: Float) -> Float {
        v <= 0.0031308 ? v * 12.92 : 1.055 * powf(v, 1 / 2.4) - 0.055
    }

    /// A copy of [..., C] pixels with the colour channels converted; alpha (the 4th channel of
    /// RGBA, the 2nd of gray+alpha) is coverage, not colour, and stays as it is.
    public static func convert(_ pixels: Tensor, toLinear: Bool) -> Tensor {
        let src = pixels.float32()
        let out = Tensor(empty: src.shape)
        let c = src.shape.last ?? 1
        let colour = c == 4 || c == 2 ? c - 1 : c
        let n = src.count / max(c, 1)
        let s = src.f32, d = out.f32
        parallelChunks(n, minChunk: 4096) { r in
            for p in r {
                for k in 0..<c {
                    let v = s[p * c + k]
                    d[p * c + k] = k < colour ? (toLinear ? srgbToLinear(v) : linearToSrgb(v)) : v
                }
            }
        }
        return out
    }
}
