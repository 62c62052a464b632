import Foundation
import TCCore

/// Animated GIF for previews: one global 256-colour palette chosen by median cut over every
/// frame's colours (so flat cartoon fills keep one index across frames and do not flicker), no
/// dithering, LZW as the GIF89a spec with variable code sizes (the classic giflib schedule).
public enum GIFEncoder {
    /// `frames` [T, H, W, C] sRGB-encoded 0…1 (C = 3, or 4 with alpha ignored).
    public static func encode(_ frames: Tensor, delayCentiseconds: Int) throws -> Data {
        guard frames.rank == 4, [3, 4].contains(frames.shape[3]) else {
            throw ImageIOError(file: "GIF", "a GIF needs frames [T, H, W, 3|4], got \(frames.shape)")
        }
        let t = frames.shape[0], h = frames.shape[1], w = frames.shape[2], c = frames.shape[3]
        guard w <= 65535, h <= 65535, t > 0 else { throw ImageIOError(file: "GIF", "frame size \(w)×\(h) × \(t) is out of range") }
        let src = frames.float32().f32
        let pixelCount = t * h * w
        var rgb = [UInt8](repeating: 0, count: pixelCount * 3)
        for p in 0..<pixelCount {
            for k in 0..<3 { rgb[p * 3 + k] = UInt8((min(max(src[p * c + k], 0), 1) * 255).rounded()) }
        }
        let (palette, lut) = medianCut(rgb)

        var out = Data("GIF89a".utf8)
        func u16(_ v: Int) { out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8)) }
        u16(w); u16(h)
        out.append(contentsOf: [0xF7, 0, 0])
        out.append(contentsOf: palette)
        out.append(contentsOf: [0x21, 0xFF, 0x0B] + Array("NETSCAPE2.0".utf8) + [0x03, 0x01, 0x00, 0x00, 0x00])
        var indices = [UInt8](repeating: 0, count: h * w)
        for f in 0..<t {
            for p in 0..<(h * w) {
                let q = (f * h * w + p) * 3
                indices[p] = lut[key(rgb[q], rgb[q + 1], rgb[q + 2])]
            }
            out.append(contentsOf: [0x21, 0xF9, 0x04, 0x04])
            u16(delayCentiseconds)
            out.append(contentsOf: [0x00, 0x00, 0x2C])
            u16(0); u16(0); u16(w); u16(h)
            out.append(0x00)
            out.append(8)
            let data = lzw(indices)
            var i = 0
            while i < data.count {
                let n = min(255, data.count - i)
                out.append(UInt8(n))
                out.append(contentsOf: data[i..<(i + n)])
                i += n
            }
            out.append(0x00)
        }
        out.append(0x3B)
        return out
    }

    @inline(__always) static func key(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        Int(r >> 3) << 10 | Int(g >> 3) << 5 | Int(b >> 3)
    }

    /// A 256-entry palette (768 bytes) and the palette index of every 15-bit colour.
    static func medianCut(_ rgb: [UInt8]) -> ([UInt8], [UInt8]) {
        var count = [Int](repeating: 0, count: 1 << 15)
        var sum = [(Int, Int, Int)](repeating: (0, 0, 0), count: 1 << 15)
        for p in stride(from: 0, to: rgb.count, by: 3) {
            let k = key(rgb[p], rgb[p + 1], rgb[p + 2])
            count[k] += 1
            sum[k].0 += Int(rgb[p]); sum[k].1 += Int(rgb[p + 1]); sum[k].2 += Int(rgb[p + 2])
        }
        func channel(_ k: Int, _ axis: Int) -> Int { (k >> (10 - 5 * axis)) & 31 }
        var boxes: [[Int]] = [(0..<(1 << 15)).filter { count[$0] > 0 }]
        while boxes.count < 256 {
            // Split the box whose widest axis spans most, weighted by how many pixels it holds.
            var best = -1, bestAxis = 0, bestScore = 0
            for (b, box) in boxes.enumerated() where box.count > 1 {
                var pixels = 0
                for k in box { pixels += count[k] }
                for axis in 0..<3 {
                    let vs = box.map { channel($0, axis) }
                    let score = (vs.max()! - vs.min()!) * pixels
                    if score > bestScore { best = b; bestAxis = axis; bestScore = score }
                }
            }
            guard best >= 0 else { break }
            let sorted = boxes[best].sorted { channel($0, bestAxis) < channel($1, bestAxis) }
            let total = sorted.reduce(0) { $0 + count[$1] }
            var acc = 0, cut = 1
            for (i, k) in sorted.enumerated() {
                acc += count[k]
                if acc * 2 >= total { cut = max(1, min(sorted.count - 1, i + 1)); break }
            }
            boxes[best] = Array(sorted[..<cut])
            boxes.append(Array(sorted[cut...]))
        }
        var palette = [UInt8](repeating: 0, count: 768)
        var lut = [UInt8](repeating: 0, count: 1 << 15)
        var entries: [(Int, Int, Int)] = []
        for (i, box) in boxes.enumerated() {
            var n = 0, r = 0, g = 0, b = 0
            for k in box { n += count[k]; r += sum[k].0; g += sum[k].1; b += sum[k].2 }
            let e = (r / max(n, 1), g / max(n, 1), b / max(n, 1))
            entries.append(e)
            palette[i * 3] = UInt8(e.0); palette[i * 3 + 1] = UInt8(e.1); palette[i * 3 + 2] = UInt8(e.2)
        }
        for k in 0..<(1 << 15) where count[k] > 0 {
            let r = sum[k].0 / count[k], g = sum[k].1 / count[k], b = sum[k].2 / count[k]
            var best = 0, bestD = Int.max
            for (i, e) in entries.enumerated() {
                let d = (e.0 - r) * (e.0 - r) + (e.1 - g) * (e.1 - g) + (e.2 - b) * (e.2 - b)
                if d < bestD { bestD = d; best = i }
            }
            lut[k] = UInt8(best)
        }
        return (palette, lut)
    }

    /// GIF LZW with an 8-bit minimum code size.
    static func lzw(_ indices: [UInt8]) -> [UInt8] {
        let clear = 256, end = 257
        var out: [UInt8] = []
        var bitBuffer = 0, bitCount = 0
        var size = 9, next = 258
        var table = [Int: Int]()
        table.reserveCapacity(4096)
        func emit(_ code: Int) {
            bitBuffer |= code << bitCount
            bitCount += size
            while bitCount >= 8 {
                out.append(UInt8(bitBuffer & 0xFF))
                bitBuffer >>= 8
                bitCount -= 8
            }
            if next >= (1 << size) && size < 12 { size += 1 }
        }
        emit(clear)
        guard var current = indices.first.map(Int.init) else {
            emit(end)
            if bitCount > 0 { out.append(UInt8(bitBuffer & 0xFF)) }
            return out
        }
        for byte in indices.dropFirst() {
            let k = current << 8 | Int(byte)
            if let code = table[k] {
                current = code
                continue
            }
            emit(current)
            if next >= 4095 {
                emit(clear)
                table.removeAll(keepingCapacity: true)
                size = 9
                next = 258
            } else {
                table[k] = next
                next += 1
            }
            current = Int(byte)
        }
        emit(current)
        emit(end)
        if bitCount > 0 { out.append(UInt8(bitBuffer & 0xFF)) }
        return out
    }
}
