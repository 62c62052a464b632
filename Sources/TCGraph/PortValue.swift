import CTCABI
import Foundation
import TCCore
import TCPluginKit

/// The value on a port: named tensors (in order) plus string metadata.
public struct PortValue: @unchecked Sendable {
    public var tensors: [(name: String, tensor: Tensor)] = []
    public var meta: [String: String] = [:]

    public init(tensors: [(String, Tensor)] = [], meta: [String: String] = [:]) {
        self.tensors = tensors.map { (name: $0.0, tensor: $0.1) }
        self.meta = meta
    }

    public subscript(name: String) -> Tensor? {
        tensors.first { $0.name == name }?.tensor
    }

    mutating func put(_ name: String, _ tensor: Tensor) {
        if let i = tensors.firstIndex(where: { $0.name == name }) { tensors[i].tensor = tensor } else { tensors.append((name, tensor)) }
    }
}

/// A port value as plugins see it through `tc_bundle *`: keeps the C strings and borrowed tensor
/// handles it hands out alive until the bundle goes away.
final class HostBundle {
    private let lock = NSLock()
    private(set) var value: PortValue
    private var strings: [String: UnsafeMutablePointer<CChar>] = [:]
    private var handles: [String: UnsafeMutablePointer<tc_tensor>] = [:]

    init(_ value: PortValue = PortValue()) { self.value = value }

    deinit {
        strings.values.forEach { free($0) }
        handles.values.forEach { $0.pointee.release?($0) }
    }

    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ p: OpaquePointer) -> HostBundle {
        Unmanaged<HostBundle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }

    private func cString(_ s: String) -> UnsafePointer<CChar> {
        if let p = strings[s] { return UnsafePointer(p) }
        let p = strdup(s)!
        strings[s] = p
        return UnsafePointer(p)
    }

    func withLock<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    var tensorCount: Int32 { withLock { Int32(value.tensors.count) } }
    var metaCount: Int32 { withLock { Int32(value.meta.count) } }

    func tensorName(_ i: Int32) -> UnsafePointer<CChar> {
        withLock { cString(i >= 0 && Int(i) < value.tensors.count ? value.tensors[Int(i)].name : "") }
    }

    func metaKey(_ i: Int32) -> UnsafePointer<CChar> {
        withLock {
            let keys = value.meta.keys.sorted()
            return cString(i >= 0 && Int(i) < keys.count ? keys[Int(i)] : "")
        }
    }

    func meta(_ key: String) -> UnsafePointer<CChar>? {
        withLock { value.meta[key].map(cString) }
    }

    /// A borrowed handle, made once per name and valid while the bundle lives.
    func tensor(_ name: String) -> UnsafePointer<tc_tensor>? {
        withLock {
            if let h = handles[name] { return UnsafePointer(h) }
            guard let t = value[name] else { return nil }
            let h = TensorABI.export(t)
            handles[name] = h
            return UnsafePointer(h)
        }
    }

    func put(_ name: String, _ tensor: Tensor) {
        withLock {
            if let old = handles.removeValue(forKey: name) { old.pointee.release?(old) }
            value.put(name, tensor)
        }
    }

    func putMeta(_ key: String, _ v: String) {
        withLock { value.meta[key] = v }
    }
}
