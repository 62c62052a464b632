/// An n-dimensional view of a `TensorStorage`: shape and strides in elements, row-major by default.
/// Views (reshape of contiguous data, permute, slice) share storage; kernels write fresh tensors
/// unless their name says `InPlace`. Layouts follow PyTorch (NCHW, linear weights (out, in)).
public struct Tensor: @unchecked Sendable {
    public let storage: TensorStorage
    public let dtype: DType
    public let shape: [Int]
    public let strides: [Int]
    /// Offset of element [0,…,0] from `storage.base`, in elements.
    public let offset: Int

    public init(storage: TensorStorage, dtype: DType, shape: [Int], strides: [Int]? = nil, offset: Int = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.storage = storage
        self.dtype = dtype
        self.shape = shape
        self.strides = strides ?? Tensor.contiguousStrides(shape)
        self.offset = offset
    }

    /// Uninitialised contiguous tensor.
    public init(empty shape: [Int], dtype: DType = .f32) {
        let n = shape.reduce(1, *)
        self.init(storage: TensorStorage(byteCount: n * dtype.byteSize), dtype: dtype, shape: shape)
    }

    public init(zeros shape: [Int], dtype: DType = .f32) {
        self.init(empty: shape, dtype: dtype)
        storage.base.initializeMemory(as: UInt8.self, repeating: 0, count: count * dtype.byteSize)
    }

    public init(repeating value: Float, _ shape: [Int]) {
        self.init(empty: shape)
        f32.update(repeating: value, count: count)
    }

    public init(_ values: [Float], _ shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.init(empty: shape)
        values.withUnsafeBufferPointer { f32.update(from: $0.baseAddress!, count: values.count) }
    }

    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }
    public var isContiguous: Bool { strides == Tensor.contiguousStrides(shape) || count <= 1 }

    public func dim(_ i: Int) -> Int { shape[i < 0 ? shape.count + i : i] }

    /// Pointer to element [0,…] for float32 tensors.
    public var f32: UnsafeMutablePointer<Float> {
        precondition(dtype == .f32, "expected a float32 tensor, got \(dtype)")
        return storage.base.assumingMemoryBound(to: Float.self) + offset
    }

    public var rawPointer: UnsafeMutableRawPointer { storage.base + offset * dtype.byteSize }

    public func typedPointer<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        precondition(MemoryLayout<T>.size == dtype.byteSize, "element size mismatch for \(dtype)")
        return rawPointer.assumingMemoryBound(to: T.self)
    }

    /// A view with another shape; copies only when the data is not contiguous. One dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let rest = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            s[i] = rest == 0 ? 0 : count / rest
        }
        precondition(s.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        let src = isContiguous ? self : contiguous()
        return Tensor(storage: src.storage, dtype: dtype, shape: s, offset: src.offset)
    }

    /// A strided view with the axes reordered (`permuted([0,2,1,3])` swaps axes 1 and 2).
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.sorted() == Array(0..<rank), "bad permutation \(axes) for rank \(rank)")
        return Tensor(storage: storage, dtype: dtype, shape: axes.map { shape[$0] },
                      strides: axes.map { strides[$0] }, offset: offset)
    }

    /// A view of `range` along `axis`.
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = axis < 0 ? rank + axis : axis
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a], "slice \(range) out of \(shape[a])")
        var s = shape
        s[a] = range.count
        return Tensor(storage: storage, dtype: dtype, shape: s, strides: strides,
                      offset: offset + range.lowerBound * strides[a])
    }

    /// Index 0 of the leading axis removed: `x[i]`.
    public subscript(i: Int) -> Tensor {
        precondition(i >= 0 && i < shape[0], "index \(i) out of \(shape[0])")
        return Tensor(storage: storage, dtype: dtype, shape: Array(shape.dropFirst()),
                      strides: Array(strides.dropFirst()), offset: offset + i * strides[0])
    }

    /// A contiguous copy (or `self` when already contiguous).
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        return OpProfile.measure(.layout) {
            let out = Tensor(empty: shape, dtype: dtype)
            copyStrided(from: self, to: out)
            return out
        }
    }

    /// A contiguous float32 tensor with these values (`self` when already one).
    public func float32() -> Tensor {
        if dtype == .f32 { return contiguous() }
        return OpProfile.measure(.conversion) {
            let src = contiguous()
            let out = Tensor(empty: shape)
            convertToFloat32(src.rawPointer, dtype, out.f32, count)
            return out
        }
    }

    /// A contiguous copy converted to `target` (float formats round to nearest even).
    public func converted(to target: DType) -> Tensor {
        if target == dtype { return contiguous() }
        let src = float32()
        let out = Tensor(empty: shape, dtype: target)
        convertFromFloat32(src.f32, out.rawPointer, target, count)
        return out
    }

    public func copy() -> Tensor {
        let out = Tensor(empty: shape, dtype: dtype)
        copyStrided(from: self, to: out)
        return out
    }

    /// Values as a Swift array (float32 conversion included), in row-major order.
    public func toArray() -> [Float] {
        let c = float32()
        return Array(UnsafeBufferPointer(start: c.f32, count: count))
    }

    public var scalar: Float {
        precondition(count == 1, "scalar of a tensor with \(count) elements")
        return toArray()[0]
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor(\(dtype), \(shape))" }
}

/// Copies `src` into the contiguous tensor `dst` of the same shape and dtype, any strides.
func copyStrided(from src: Tensor, to dst: Tensor) {
    precondition(src.shape == dst.shape && src.dtype == dst.dtype && dst.isContiguous)
    let es = src.dtype.byteSize
    let n = src.count
    if n == 0 { return }
    if src.isContiguous {
        parallelCopy(to: dst.rawPointer, from: src.rawPointer, byteCount: n * es)
        return
    }
    // Merge the innermost run that is contiguous in the source into one memcpy-sized block.
    let rank = src.rank
    var inner = 1
    var axis = rank
    while axis > 0 && src.strides[axis - 1] == inner {
        inner *= src.shape[axis - 1]
        axis -= 1
    }
    let outerShape = Array(src.shape[0..<axis])
    let outerStrides = Array(src.strides[0..<axis])
    let outer = outerShape.reduce(1, *)
    let sBase = src.storage.base + src.offset * es
    let dBase = dst.rawPointer
    let blockBytes = inner * es
    if inner == 1 && es == 4 {
        // Fully strided float copy: walk the destination in order.
        let s = sBase.assumingMemoryBound(to: UInt32.self)
        let d = dBase.assumingMemoryBound(to: UInt32.self)
        parallelFor(outerShape.isEmpty ? 1 : outerShape[0]) { i0 in
            var idx = [Int](repeating: 0, count: axis)
            idx[0] = i0
            let per = outer / max(outerShape.first ?? 1, 1)
            var o = i0 * per
            for _ in 0..<per {
                var so = 0
                for k in 0..<axis { so += idx[k] * outerStrides[k] }
                d[o] = s[so]
                o += 1
                var k = axis - 1
                while k > 0 {
                    idx[k] += 1
                    if idx[k] < outerShape[k] { break }
                    idx[k] = 0
                    k -= 1
                }
            }
        }
        return
    }
    var idx = [Int](repeating: 0, count: axis)
    for o in 0..<outer {
        var so = 0
        for k in 0..<axis { so += idx[k] * outerStrides[k] }
        (dBase + o * blockBytes).copyMemory(from: sBase + so * es, byteCount: blockBytes)
        var k = axis - 1
        while k >= 0 {
            idx[k] += 1
            if idx[k] < outerShape[k] { break }
            idx[k] = 0
            k -= 1
        }
    }
}
