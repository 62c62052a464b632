import Foundation
import TCCore

/// Line extraction without weights (sketch-and-colorize.md §3.2): colour frames → SKETCH frames,
/// white lines on black in [0,1]. Input: IMAGE frames (T, H, W, C), C = 1, 3 or 4, display-referred
/// values in [0,1] (alpha composited over white paper).

/// The default extractor: ControlNet's `lineart_standard` darkness difference-of-Gaussians, in
/// [0,1] units. Per pixel and colour channel, how much darker the pixel is than its Gaussian
/// surround; the minimum over the channels (a pixel must be darker in every channel: ink, not a
/// colour change); then an adaptive gain that puts the median line response at `gain`:
///
///     I   = clip(min_c(G_σ(x_c) − x_c), 0, 1)
///     out = clip(I / max(floor, median{I > threshold}) · gain, 0, 1)
///
/// One response per ink stroke with soft grey values, weak on colour boundaries without ink.
public struct DarknessDoG: Sendable, Equatable {
    /// Blur radius in pixels of an image whose shorter side is 512 (the reference's detect
    /// resolution, σ = 6 there); scaled by min(H, W)/512 so the result does not depend on the size.
    public var sigma: Float = 6
    /// Responses at or below this (8/255) do not count towards the median.
    public var threshold: Float = 8 / 255
    /// Lower bound of the normaliser (16/255), so faint images are not blown up.
    public var floor: Float = 16 / 255
    /// Output value of a median-strength line (127/255).
    public var gain: Float = 127 / 255

    public init() {}

    public func callAsFunction(_ images: Tensor) throws -> SketchFrames {
        let (t, h, w, _) = try ImageFrames.validate(images, "DarknessDoG input")
        guard sigma > 0, floor > 0 else {
            throw SketchError.invalidInput(what: "DarknessDoG parameters", expected: "sigma > 0 and floor > 0",
                                           got: "sigma \(sigma), floor \(floor)")
        }
        let planes = ImageFrames.colourPlanes(images)                 // (t·k) h w
        let k = planes.dim(0) / t
        let blurred = gaussianBlur(planes, sigma: sigma * Float(min(h, w)) / 512)
        let hw = h * w
        let out = Tensor(empty: [t, h, w, 1])
        let x = planes.f32, g = blurred.f32, o = out.f32
        parallelFor(t) { f in
            let dst = o + f * hw
            for i in 0..<hw {
                var m = Float.infinity
                for c in 0..<k { m = min(m, g[(f * k + c) * hw + i] - x[(f * k + c) * hw + i]) }
                dst[i] = min(max(m, 0), 1)
            }
            let scale = max(floor, median(UnsafeBufferPointer(start: dst, count: hw).filter { $0 > threshold }) ?? 0)
            for i in 0..<hw { dst[i] = min(max(dst[i] / scale * gain, 0), 1) }
        }
        return try SketchFrames(frames: out)
    }
}

/// Extended difference-of-Gaussians (Winnemöller et al. 2012) on BT.601 luminance L, inverted to
/// white lines on black. Sharper than `DarknessDoG` and also marks strong colour edges (on their
/// dark side); σ is in pixels of the given image and wants tuning to the line width.
///
///     D    = G_σ(L) − γ·G_kσ(L)
///     T    = 1 where D ≥ ε, else 1 + tanh(φ·(D − ε))      (dark lines on white)
///     out  = 1 − T = max(0, tanh(φ·(ε − D)))
public struct XDoG: Sendable, Equatable {
    public var sigma: Float = 0.8
    /// Ratio of the surround blur to the centre blur.
    public var k: Float = 1.6
    /// Weight of the surround (γ, "τ" in the paper); just below 1 keeps flat areas line-free.
    public var gamma: Float = 0.98
    /// Threshold on D below which a pixel is a line.
    public var epsilon: Float = -0.1
    /// Steepness of the soft threshold; large values give almost binary lines.
    public var phi: Float = 200

    public init() {}

    public func callAsFunction(_ images: Tensor) throws -> SketchFrames {
        let (t, h, w, _) = try ImageFrames.validate(images, "XDoG input")
        guard sigma > 0, k > 0, phi > 0 else {
            throw SketchError.invalidInput(what: "XDoG parameters", expected: "sigma, k and phi > 0",
                                           got: "sigma \(sigma), k \(k), phi \(phi)")
        }
        let grey = ImageFrames.luminance(images, paper: 1)
        let centre = gaussianBlur(grey, sigma: sigma), surround = gaussianBlur(grey, sigma: k * sigma)
        let out = Tensor(empty: [t, h, w, 1])
        let c = centre.f32, s = surround.f32, o = out.f32
        let (gamma, epsilon, phi) = (self.gamma, self.epsilon, self.phi)
        parallelChunks(out.count, minChunk: 1 << 14) { r in
            for i in r {
                let d = c[i] - gamma * s[i]
                o[i] = d >= epsilon ? 0 : Foundation.tanh(phi * (epsilon - d))
            }
        }
        return try SketchFrames(frames: out)
    }
}

/// numpy's median: the middle value, or the mean of the two middle ones; nil when empty.
func median(_ values: [Float]) -> Float? {
    if values.isEmpty { return nil }
    let s = values.sorted()
    let n = s.count
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

/// Anything that turns IMAGE frames into SKETCH frames (white lines on black).
public protocol LineExtractor {
    func extractLines(_ images: Tensor) throws -> SketchFrames
}

extension DarknessDoG: LineExtractor {
    public func extractLines(_ images: Tensor) throws -> SketchFrames { try self(images) }
}

extension XDoG: LineExtractor {
    public func extractLines(_ images: Tensor) throws -> SketchFrames { try self(images) }
}

extension Anime2Sketch: LineExtractor {
    public func extractLines(_ images: Tensor) throws -> SketchFrames { try sketches(from: images) }
}
