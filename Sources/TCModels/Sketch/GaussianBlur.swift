import Foundation
import TCCore

/// Separable Gaussian blur of each (H, W) plane of x (P, H, W), as OpenCV's
/// `GaussianBlur(x, (0, 0), sigma)` on float images: radius round(4σ), weights exp(−d²/2σ²)
/// normalised to sum 1, border reflected without repeating the edge pixel (BORDER_REFLECT_101:
/// index −1 reads 1, n reads n−2).
public func gaussianBlur(_ x: Tensor, sigma: Float) -> Tensor {
    // OpenCV's kernel for a given σ is kornia's odd-sized normalised Gaussian, and BORDER_REFLECT_101
    // is PyTorch's "reflect": only the size rule differs.
    let size = 2 * max(1, Int((4 * sigma).rounded())) + 1
    return gaussianBlur2d(x, kernelSize: (size, size), sigma: (sigma, sigma))
}
