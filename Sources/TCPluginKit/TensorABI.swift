import CTCABI
import Foundation
import TCCore

/// Tensor ⇄ `tc_tensor` (DLPack layout) without copying. The host and every plugin link this file
/// statically, so each side's `release` function is its own; a side recognises the handles it made
/// by comparing `release` with `TensorABI.releaseFunction`.
public enum TensorABI {
    /// Why a C tensor cannot become a `Tensor`.
    public struct Rejected: Error, CustomStringConvertible {
        public let description: String
    }

    /// An owned `tc_tensor` viewing `tensor`'s memory; its release drops the reference that keeps
    /// the storage alive. Shape and strides live in the same allocation as the struct.
    public static func export(_ tensor: Tensor) -> UnsafeMutablePointer<tc_tensor> {
        let ndim = tensor.rank
        let bytes = MemoryLayout<tc_tensor>.stride + 2 * max(ndim, 1) * MemoryLayout<Int64>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        let handle = raw.bindMemory(to: tc_tensor.self, capacity: 1)
        let dims = (raw + MemoryLayout<tc_tensor>.stride).bindMemory(to: Int64.self, capacity: 2 * max(ndim, 1))
        for i in 0..<ndim {
            dims[i] = Int64(tensor.shape[i])
            dims[ndim + i] = Int64(tensor.strides[i])
        }
        let (code, bits) = tensor.dtype.dlpack
        handle.initialize(to: tc_tensor(
            data: tensor.rawPointer,
            device: tc_device(device_type: Int32(TC_DEVICE_CPU.rawValue), device_id: 0),
            ndim: Int32(ndim),
            dtype: tc_dtype(code: code, bits: bits, lanes: 1),
            shape: dims,
            strides: dims + ndim,
            byte_offset: 0,
            owner: Unmanaged.passRetained(Owner(tensor)).toOpaque(),
            release: releaseFunction))
        return handle
    }

    /// The `Tensor` a handle made by `export` on this side of the boundary views, or nil.
    public static func ownTensor(_ handle: UnsafePointer<tc_tensor>) -> Tensor? {
        guard let release = handle.pointee.release, isOwnRelease(release),
              let owner = handle.pointee.owner else { return nil }
        return Unmanaged<Owner>.fromOpaque(owner).takeUnretainedValue().tensor
    }

    /// Takes ownership of `handle`: the returned tensor views its memory and calls its release when
    /// the last view goes away. On rejection the handle is released too.
    public static func adopt(_ handle: UnsafeMutablePointer<tc_tensor>) throws -> Tensor {
        if let mine = ownTensor(handle) {
            handle.pointee.release?(handle)
            return mine
        }
        do {
            let (dtype, shape, strides, extent) = try describe(handle.pointee)
            let base = handle.pointee.data.map { $0 + Int(handle.pointee.byte_offset) }
            guard let base else {
                if extent == 0 {
                    handle.pointee.release?(handle)
                    return Tensor(empty: shape, dtype: dtype)
                }
                throw Rejected(description: "tensor data pointer is NULL")
            }
            let storage = TensorStorage(borrowing: base, byteCount: extent * dtype.byteSize,
                                        release: { handle.pointee.release?(handle) })
            return Tensor(storage: storage, dtype: dtype, shape: shape, strides: strides)
        } catch {
            handle.pointee.release?(handle)
            throw error
        }
    }

    /// A tensor viewing a borrowed handle's memory, valid only while the handle is (no release).
    public static func borrow(_ handle: UnsafePointer<tc_tensor>) throws -> Tensor {
        if let mine = ownTensor(handle) { return mine }
        let (dtype, shape, strides, extent) = try describe(handle.pointee)
        guard let data = handle.pointee.data else {
            if extent == 0 { return Tensor(empty: shape, dtype: dtype) }
            throw Rejected(description: "tensor data pointer is NULL")
        }
        let storage = TensorStorage(borrowing: data + Int(handle.pointee.byte_offset),
                                    byteCount: extent * dtype.byteSize, release: nil)
        return Tensor(storage: storage, dtype: dtype, shape: shape, strides: strides)
    }

    /// dtype, shape, strides and the element extent (1 + furthest element offset) of a C tensor.
    static func describe(_ t: tc_tensor) throws -> (DType, [Int], [Int], Int) {
        guard t.device.device_type == Int32(TC_DEVICE_CPU.rawValue) else {
            throw Rejected(description: "tensor on device type \(t.device.device_type); only CPU (1) is supported")
        }
        guard t.dtype.lanes == 1, let dtype = DType(dlpackCode: t.dtype.code, bits: t.dtype.bits) else {
            throw Rejected(description: "unsupported dtype code \(t.dtype.code) bits \(t.dtype.bits) lanes \(t.dtype.lanes)")
        }
        guard t.ndim >= 0, t.ndim <= 16 else {
            throw Rejected(description: "bad rank \(t.ndim)")
        }
        let n = Int(t.ndim)
        let shape = (0..<n).map { Int(t.shape[$0]) }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw Rejected(description: "negative dimension in shape \(shape)") }
        let strides = t.strides.map { s in (0..<n).map { Int(s[$0]) } } ?? Tensor.contiguousStrides(shape)
        guard strides.allSatisfy({ $0 >= 0 }) else {
            throw Rejected(description: "negative strides \(strides) are not supported")
        }
        if shape.contains(0) { return (dtype, shape, strides, 0) }
        let extent = 1 + zip(shape, strides).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
        return (dtype, shape, strides, extent)
    }

    static func isOwnRelease(_ f: @convention(c) (UnsafeMutablePointer<tc_tensor>) -> Void) -> Bool {
        unsafeBitCast(f, to: UnsafeRawPointer.self) == unsafeBitCast(releaseFunction, to: UnsafeRawPointer.self)
    }

    /// Keeps a tensor's storage alive for as long as a C handle views it.
    final class Owner {
        let tensor: Tensor
        init(_ tensor: Tensor) { self.tensor = tensor }
    }

    /// The release of handles made by `export` on this side: drop the owner, free the struct.
    public static let releaseFunction: @convention(c) (UnsafeMutablePointer<tc_tensor>) -> Void = { handle in
        if let owner = handle.pointee.owner { Unmanaged<Owner>.fromOpaque(owner).release() }
        handle.deinitialize(count: 1)
        UnsafeMutableRawPointer(handle).deallocate()
    }
}

extension DType {
    /// The C ABI dtype of this storage type.
    public var abi: tc_dtype {
        let (code, bits) = dlpack
        return tc_dtype(code: code, bits: bits, lanes: 1)
    }
}
