import CTCKernels

/// Bulk conversions between storage dtypes and float32.

@inline(__always) public func bf16ToFloat(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

/// Round to nearest even, as PyTorch's `.to(torch.bfloat16)`; NaN stays NaN.
@inline(__always) public func floatToBF16(_ f: Float) -> UInt16 {
    let u = f.bitPattern
    if f.isNaN { return UInt16(truncatingIfNeeded: (u >> 16) | 0x40) }
    let rounding = UInt32(0x7FFF) + ((u >> 16) & 1)
    return UInt16(truncatingIfNeeded: (u &+ rounding) >> 16)
}

func convertToFloat32(_ src: UnsafeRawPointer, _ dtype: DType, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    switch dtype {
    case .f32:
        dst.update(from: src.assumingMemoryBound(to: Float.self), count: n)
    case .f16:
        let s = src.assumingMemoryBound(to: UInt16.self)
        parallelChunks(n, minChunk: 1 << 16) { r in tck_f16_to_f32(s + r.lowerBound, dst + r.lowerBound, r.count) }
    case .bf16:
        let s = src.assumingMemoryBound(to: UInt16.self)
        parallelChunks(n, minChunk: 1 << 16) { r in
            for i in r { dst[i] = bf16ToFloat(s[i]) }
        }
    case .f64:
        let s = src.assumingMemoryBound(to: Double.self)
        for i in 0..<n { dst[i] = Float(s[i]) }
    case .i64:
        let s = src.assumingMemoryBound(to: Int64.self)
        for i in 0..<n { dst[i] = Float(s[i]) }
    case .i32:
        let s = src.assumingMemoryBound(to: Int32.self)
        for i in 0..<n { dst[i] = Float(s[i]) }
    case .u8:
        let s = src.assumingMemoryBound(to: UInt8.self)
        for i in 0..<n { dst[i] = Float(s[i]) }
    }
}

func convertFromFloat32(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ dtype: DType, _ n: Int) {
    switch dtype {
    case .f32:
        dst.assumingMemoryBound(to: Float.self).update(from: src, count: n)
    case .f16:
        let d = dst.assumingMemoryBound(to: UInt16.self)
        parallelChunks(n, minChunk: 1 << 16) { r in tck_f32_to_f16(src + r.lowerBound, d + r.lowerBound, r.count) }
    case .bf16:
        let d = dst.assumingMemoryBound(to: UInt16.self)
        parallelChunks(n, minChunk: 1 << 16) { r in
            for i in r { d[i] = floatToBF16(src[i]) }
        }
    case .f64:
        let d = dst.assumingMemoryBound(to: Double.self)
        for i in 0..<n { d[i] = Double(src[i]) }
    case .i64:
        let d = dst.assumingMemoryBound(to: Int64.self)
        for i in 0..<n { d[i] = Int64(src[i].rounded(.towardZero)) }
    case .i32:
        let d = dst.assumingMemoryBound(to: Int32.self)
        for i in 0..<n { d[i] = Int32(src[i].rounded(.towardZero)) }
    case .u8:
        let d = dst.assumingMemoryBound(to: UInt8.self)
        for i in 0..<n { d[i] = UInt8(max(0, min(255, src[i].rounded(.towardZero)))) }
    }
}

extension Tensor {
    /// Integer values of an i64/i32/u8 tensor (e.g. token ids, timesteps).
    public func toInts() -> [Int] {
        let c = contiguous()
        switch dtype {
        case .i64: return UnsafeBufferPointer(start: c.typedPointer(Int64.self), count: count).map { Int($0) }
        case .i32: return UnsafeBufferPointer(start: c.typedPointer(Int32.self), count: count).map { Int($0) }
        case .u8: return UnsafeBufferPointer(start: c.typedPointer(UInt8.self), count: count).map { Int($0) }
        default: return toArray().map { Int($0) }
        }
    }

    public init(ints: [Int], _ shape: [Int]) {
        precondition(ints.count == shape.reduce(1, *))
        self.init(empty: shape, dtype: .i64)
        let p = typedPointer(Int64.self)
        for (i, v) in ints.enumerated() { p[i] = Int64(v) }
    }
}
