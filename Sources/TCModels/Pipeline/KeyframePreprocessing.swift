import Foundation
import TCCore

/// How a keyframe of another size is brought to the model's frame size.
public enum KeyframeFit: String, Sendable, CaseIterable {
    /// The reference CLI (spec §1.2): resize the short side to min(H, W) with PIL bilinear, then
    /// centre-crop to H×W (zero-padding sides that are too short, black after normalisation).
    case crop
    /// Keep the whole frame: resize so the image fits inside H×W, then centre it on black.
    case pad
}

/// Spec §1.2 (`load_data_prompts`): an RGB keyframe (h, w, 3) uint8 → (3, H, W) float32 in [−1, 1]:
/// the fit's PIL bilinear resize on the 8-bit image, torchvision's centre crop/pad with zeros,
/// then ToTensor (÷255) and Normalize(0.5, 0.5).
public func preprocessKeyframe(_ image: Tensor, height: Int, width: Int, fit: KeyframeFit) throws -> Tensor {
    guard image.rank == 3, image.dim(2) == 3, image.dim(0) > 0, image.dim(1) > 0, image.dtype == .u8 else {
        throw ModelInputError.shape(argument: "keyframe", expected: "(h, w, 3) uint8 RGB", got: image.shape)
    }
    guard height > 0, width > 0 else {
        throw ModelInputError.invalid(argument: "keyframe size", reason: "\(width)×\(height) is empty")
    }
    let h0 = image.dim(0), w0 = image.dim(1)
    // torchvision computes the new long side as int(short_target · long / short) in floating point.
    let (rh, rw): (Int, Int)
    switch fit {
    case .crop:
        let s = min(height, width)
        (rh, rw) = h0 <= w0 ? (s, Int(Double(s) * Double(w0) / Double(h0))) : (Int(Double(s) * Double(h0) / Double(w0)), s)
    case .pad:
        (rh, rw) = Double(width) / Double(w0) <= Double(height) / Double(h0)
            ? (Int(Double(width) * Double(h0) / Double(w0)), width) : (height, Int(Double(height) * Double(w0) / Double(h0)))
    }
    guard rh > 0, rw > 0 else {
        throw ModelInputError.invalid(argument: "keyframe", reason: "a \(w0)×\(h0) image cannot be fitted to \(width)×\(height)")
    }
    // PIL returns the image itself when the size does not change.
    let resized = (rh, rw) == (h0, w0) ? image.contiguous() : pilResize(image.contiguous(), width: rw, height: rh, filter: .bilinear)
    return normalizedCentreCrop(resized, height: height, width: width)
}

/// torchvision `CenterCrop((H, W))` on a PIL image (zero padding left/top (H−h)//2, right/bottom
/// (H−h+1)//2 where the image is smaller; offsets round((h−H)/2) with round-half-to-even), then
/// x/255 → (x − 0.5)/0.5, channels first.
func normalizedCentreCrop(_ image: Tensor, height: Int, width: Int) -> Tensor {
    let h = image.dim(0), w = image.dim(1)
    func offset(_ size: Int, _ crop: Int) -> Int {
        // Padding puts the image at (crop − size)//2; a larger image is cropped from round((size − crop)/2).
        size < crop ? -((crop - size) / 2) : Int((Double(size - crop) / 2).rounded(.toNearestOrEven))
    }
    let top = offset(h, height), left = offset(w, width)
    let out = Tensor(empty: [3, height, width])
    let src = image.typedPointer(UInt8.self), dst = out.f32
    let black = (Float(0) / 255 - 0.5) / 0.5
    for c in 0..<3 {
        for y in 0..<height {
            let sy = y + top
            for x in 0..<width {
                let sx = x + left
                let v: Float = sy >= 0 && sy < h && sx >= 0 && sx < w ? (Float(src[(sy * w + sx) * 3 + c]) / 255 - 0.5) / 0.5 : black
                dst[(c * height + y) * width + x] = v
            }
        }
    }
    return out
}

/// IMAGE frames (h, w, C ≥ 3) with sRGB-encoded values in 0…1 → the 8-bit RGB image the reference
/// reads from disk (PIL `convert("RGB")`): clamped, ×255, rounded; an alpha channel is dropped.
public func keyframeBytes(_ image: Tensor) throws -> Tensor {
    guard image.rank == 3, image.dim(2) >= 3 else {
        throw ModelInputError.shape(argument: "keyframe", expected: "(h, w, 3|4)", got: image.shape)
    }
    let x = image.float32()
    let h = x.dim(0), w = x.dim(1), c = x.dim(2)
    let out = Tensor(empty: [h, w, 3], dtype: .u8)
    let src = x.f32, dst = out.typedPointer(UInt8.self)
    for p in 0..<(h * w) {
        for k in 0..<3 {
            let v = src[p * c + k]
            dst[p * 3 + k] = UInt8((min(max(v.isNaN ? 0 : v, 0), 1) * 255).rounded())
        }
    }
    return out
}
