import Foundation

/// One tensor to write: its final dtype and shape, and how to get its values when its turn comes
/// (so a conversion streams one tensor at a time instead of holding the model in memory).
public struct SafeTensorsEntry {
    public let key: String
    public let dtype: DType
    public let shape: [Int]
    public let load: () throws -> Tensor

    public init(key: String, dtype: DType, shape: [Int], load: @escaping () throws -> Tensor) {
        self.key = key
        self.dtype = dtype
        self.shape = shape
        self.load = load
    }
}

/// What a write did: values that became ±inf when narrowed to f16/bf16.
public struct SafeTensorsWriteReport {
    public var bytes = 0
    public var overflowed: [(key: String, count: Int)] = []
}

/// Writes a safetensors file atomically: everything goes to a temporary file in the target's
/// directory, which is renamed over `path` only once complete and flushed, so an interrupted or
/// failed write never leaves a partial file. Tensors are ordered by element size (largest first)
/// so every tensor starts aligned in a mapping; values are converted to each entry's dtype in
/// bounded chunks.
public func writeSafeTensors(_ entries: [SafeTensorsEntry], to path: String,
                             metadata: [String: String] = [:]) throws -> SafeTensorsWriteReport {
    let ordered = entries.enumerated().sorted {
        ($0.element.dtype.byteSize, -$0.offset) > ($1.element.dtype.byteSize, -$1.offset)
    }.map(\.element)
    var header: [String: Any] = [:]
    if !metadata.isEmpty { header["__metadata__"] = metadata }
    var offset = 0
    for e in ordered {
        guard header[e.key] == nil else { throw WeightError.corrupt(file: path, reason: "key '\(e.key)' written twice") }
        let n = e.shape.reduce(1, *) * e.dtype.byteSize
        header[e.key] = ["dtype": SafeTensorsFile.names[e.dtype]!, "shape": e.shape, "data_offsets": [offset, offset + n]]
        offset += n
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
    // The format allows trailing spaces; padding to 8 bytes keeps the data section aligned.
    json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))

    let out = try AtomicFile(path: path)
    var report = SafeTensorsWriteReport()
    do {
        let len = UInt64(json.count).littleEndian
        try withUnsafeBytes(of: len) { try out.write($0) }
        try json.withUnsafeBytes { try out.write($0) }
        for e in ordered {
            let t = try e.load()
            guard t.shape == e.shape else {
                throw WeightError.shapeMismatch(file: path, key: e.key, expected: e.shape, got: t.shape)
            }
            let overflow = try writeConverted(t.contiguous(), as: e.dtype, to: out)
            if overflow > 0 { report.overflowed.append((e.key, overflow)) }
        }
        report.bytes = 8 + json.count + offset
        try out.commit()
    } catch {
        out.abandon()
        throw error
    }
    return report
}

/// Streams `t` converted to `target` in 1 M-element chunks; returns how many finite values became
/// infinite. Integer tensors are written as stored.
private func writeConverted(_ t: Tensor, as target: DType, to out: AtomicFile) throws -> Int {
    let total = t.count
    if t.dtype == target || !t.dtype.isFloatingPoint || !target.isFloatingPoint {
        try out.write(UnsafeRawBufferPointer(start: t.rawPointer, count: total * t.dtype.byteSize))
        return 0
    }
    let chunk = 1 << 20
    let floats = UnsafeMutablePointer<Float>.allocate(capacity: min(chunk, max(total, 1)))
    let bytes = UnsafeMutableRawPointer.allocate(byteCount: min(chunk, max(total, 1)) * target.byteSize, alignment: 64)
    defer { floats.deallocate(); bytes.deallocate() }
    var overflow = 0
    var start = 0
    while start < total {
        let n = min(chunk, total - start)
        convertToFloat32(t.rawPointer + start * t.dtype.byteSize, t.dtype, floats, n)
        convertFromFloat32(floats, bytes, target, n)
        if target == .f16 || target == .bf16 {
            let back = UnsafeMutablePointer<Float>.allocate(capacity: n)
            convertToFloat32(bytes, target, back, n)
            for i in 0..<n where floats[i].isFinite && !back[i].isFinite { overflow += 1 }
            back.deallocate()
        }
        try out.write(UnsafeRawBufferPointer(start: bytes, count: n * target.byteSize))
        start += n
    }
    return overflow
}

extension DType {
    var isFloatingPoint: Bool { self == .f32 || self == .f16 || self == .bf16 || self == .f64 }
}

extension SafeTensorsFile {
    static let names: [DType: String] = Dictionary(uniqueKeysWithValues: dtypes.map { ($0.value, $0.key) })
}

/// A file written under a temporary name next to its destination and renamed into place.
final class AtomicFile {
    let path: String
    let temp: String
    private var fd: Int32

    init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw WeightError.cannotOpen(file: path, reason: String(cString: strerror(errno))) }
    }

    func write(_ data: UnsafeRawBufferPointer) throws {
        var p = data.baseAddress, left = data.count
        while left > 0, let q = p {
            let n = Foundation.write(fd, q, min(left, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw WeightError.cannotOpen(file: path, reason: "write failed: \(String(cString: strerror(errno)))")
            }
            p = q + n
            left -= n
        }
    }

    func commit() throws {
        guard fsync(fd) == 0, close(fd) == 0 else {
            throw WeightError.cannotOpen(file: path, reason: "flush failed: \(String(cString: strerror(errno)))")
        }
        fd = -1
        guard rename(temp, path) == 0 else {
            throw WeightError.cannotOpen(file: path, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
    }

    func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temp)
    }

    deinit { if fd >= 0 { abandon() } }
}
