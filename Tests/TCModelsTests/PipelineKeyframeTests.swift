import Foundation
import Testing
import TCCore
import TCModels

/// Spec §1.2: the CLI's keyframe preprocessing (PIL bilinear resize of the short side, torchvision
/// centre crop with zero padding, ÷255, Normalize(0.5, 0.5)) and the `pad` alternative.
@Suite struct PipelineKeyframeTests {
    /// Channel c of pixel (y, x) of an (h, w, 3) uint8 image, as the reference normalises it.
    func normalized(_ img: Tensor, _ y: Int, _ x: Int, _ c: Int) -> Float {
        (Float(img.typedPointer(UInt8.self)[(y * img.dim(1) + x) * 3 + c]) / 255 - 0.5) / 0.5
    }

    func value(_ out: Tensor, _ c: Int, _ y: Int, _ x: Int) -> Float { out.f32[(c * out.dim(1) + y) * out.dim(2) + x] }

    @Test func sameSizeIsOnlyNormalised() throws {
        let img = PipelineModels.image(4, 8)
        for fit in KeyframeFit.allCases {
            let out = try preprocessKeyframe(img, height: 4, width: 8, fit: fit)
            #expect(out.shape == [3, 4, 8])
            for c in 0..<3 { for y in 0..<4 { for x in 0..<8 { #expect(value(out, c, y, x) == normalized(img, y, x, c)) } } }
        }
    }

    /// Short side already at size: no resize; the crop offset is round((w − W)/2), half to even.
    @Test func centreCropRoundsHalfToEven() throws {
        for (w, left) in [(9, 2), (7, 2), (10, 3)] {
            let img = PipelineModels.image(4, w)
            let out = try preprocessKeyframe(img, height: 4, width: 4, fit: .crop)
            for y in 0..<4 { for x in 0..<4 { #expect(value(out, 1, y, x) == normalized(img, y, x + left, 1), "w \(w)") } }
        }
    }

    /// A side shorter than the crop is zero-padded, (W − w)//2 on the left: black (−1) bars.
    @Test func narrowImagesArePaddedBlack() throws {
        let img = PipelineModels.image(4, 5)
        let out = try preprocessKeyframe(img, height: 4, width: 8, fit: .crop)
        for y in 0..<4 {
            for x in 0..<8 {
                let want: Float = (1...5).contains(x) ? normalized(img, y, x - 1, 0) : -1
                #expect(value(out, 0, y, x) == want)
            }
        }
    }

    /// The short side is resized with PIL bilinear to min(H, W), the long side to int(min·long/short).
    @Test func resizeFollowsTheShortSide() throws {
        let img = PipelineModels.image(6, 13)
        let out = try preprocessKeyframe(img, height: 4, width: 8, fit: .crop)
        // 6×13 → 4×int(4·13/6 = 8.67) = 4×8, so no crop is left.
        let resized = pilResize(img, width: 8, height: 4, filter: .bilinear)
        for y in 0..<4 { for x in 0..<8 { #expect(value(out, 2, y, x) == normalized(resized, y, x, 2)) } }
    }

    /// `pad` keeps the whole frame: fitted inside, centred on black.
    @Test func padKeepsTheWholeFrame() throws {
        let img = PipelineModels.image(2, 8)
        let out = try preprocessKeyframe(img, height: 4, width: 8, fit: .pad)
        for y in 0..<4 {
            for x in 0..<8 { #expect(value(out, 0, y, x) == ((1...2).contains(y) ? normalized(img, y - 1, x, 0) : -1)) }
        }
        let tall = PipelineModels.image(16, 4)
        let fitted = try preprocessKeyframe(tall, height: 4, width: 8, fit: .pad)
        let resized = pilResize(tall, width: 1, height: 4, filter: .bilinear)
        for y in 0..<4 {
            for x in 0..<8 { #expect(value(fitted, 0, y, x) == (x == 3 ? normalized(resized, y, 0, 0) : -1)) }
        }
    }

    @Test func floatFramesBecomeTheBytesTheReferenceReads() throws {
        let frame = Tensor([0, 0.5, 1, 0.7, /**/ -0.2, 1.3, 0.2, 0.1, /**/ Float.nan, 0.25, 1 / 255, 0.4], [1, 3, 4])
        let bytes = try keyframeBytes(frame)
        #expect(bytes.shape == [1, 3, 3])
        #expect((0..<9).map { Int(bytes.typedPointer(UInt8.self)[$0]) } == [0, 128, 255, 0, 255, 51, 0, 64, 1])
    }

    @Test func badInputsAreRefused() throws {
        #expect(throws: ModelInputError.self) { try preprocessKeyframe(Tensor(zeros: [4, 4, 3]), height: 4, width: 4, fit: .crop) }
        #expect(throws: ModelInputError.self) { try preprocessKeyframe(Tensor(zeros: [4, 4], dtype: .u8), height: 4, width: 4, fit: .crop) }
        #expect(throws: ModelInputError.self) { try preprocessKeyframe(PipelineModels.image(4, 4), height: 0, width: 4, fit: .pad) }
        #expect(throws: ModelInputError.self) { try keyframeBytes(Tensor(zeros: [4, 4, 2])) }
    }
}
