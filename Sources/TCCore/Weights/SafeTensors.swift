import Foundation

/// A safetensors file opened by mmap: tensors are zero-copy views into the mapping, which stays
/// alive while any of them does. The header is validated before anything is handed out.
public final class SafeTensorsFile: @unchecked Sendable {
    public struct Entry: Sendable {
        public let dtype: DType
        public let shape: [Int]
        public let byteRange: Range<Int>
    }

    public let path: String
    public let entries: [String: Entry]
    /// Keys in file order (by data offset).
    public let keys: [String]
    public let metadata: [String: String]
    private let mapping: MappedFile
    private let dataStart: Int

    public init(path: String) throws {
        self.path = path
        mapping = try MappedFile(path: path)
        let size = mapping.size
        guard size >= 8 else { throw WeightError.corrupt(file: path, reason: "file is \(size) bytes, shorter than the 8-byte header length") }
        let headerLen = Int(mapping.base.loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLen > 0, headerLen <= size - 8, headerLen < 100 << 20 else {
            throw WeightError.corrupt(file: path, reason: "header length \(headerLen) does not fit in a \(size)-byte file")
        }
        dataStart = 8 + headerLen
        let headerData = Data(bytes: mapping.base + 8, count: headerLen)
        guard let json = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw WeightError.corrupt(file: path, reason: "header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        var meta: [String: String] = [:]
        let dataSize = size - dataStart
        for (key, value) in json {
            if key == "__metadata__" {
                if let m = value as? [String: Any] {
                    for (k, v) in m { meta[k] = v as? String ?? "\(v)" }
                }
                continue
            }
            guard let info = value as? [String: Any],
                  let dt = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int],
                  let offs = info["data_offsets"] as? [Int], offs.count == 2 else {
                throw WeightError.corrupt(file: path, reason: "entry '\(key)' lacks dtype/shape/data_offsets")
            }
            guard let dtype = SafeTensorsFile.dtypes[dt] else {
                throw WeightError.unsupportedDType(file: path, key: key, dtype: dt)
            }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw WeightError.corrupt(file: path, reason: "entry '\(key)' has a negative dimension \(shape)")
            }
            let (n, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            let (bytes, o2) = n.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, !o2, offs[0] >= 0, offs[1] >= offs[0], offs[1] - offs[0] == bytes else {
                throw WeightError.corrupt(file: path, reason: "entry '\(key)': shape \(shape) of \(dt) does not match byte range \(offs)")
            }
            guard offs[1] <= dataSize else {
                throw WeightError.corrupt(file: path, reason: "entry '\(key)' ends at byte \(offs[1]) past the end of the data (\(dataSize) bytes)")
            }
            entries[key] = Entry(dtype: dtype, shape: shape, byteRange: offs[0]..<offs[1])
        }
        self.entries = entries
        self.metadata = meta
        keys = entries.keys.sorted { entries[$0]!.byteRange.lowerBound < entries[$1]!.byteRange.lowerBound }
    }

    static let dtypes: [String: DType] = [
        "F32": .f32, "F16": .f16, "BF16": .bf16, "F64": .f64, "I64": .i64, "I32": .i32, "U8": .u8,
    ]

    /// A zero-copy view of tensor `key` (in its stored dtype).
    public func tensor(_ key: String) throws -> Tensor {
        guard let e = entries[key] else { throw WeightError.missingKey(file: path, key: key) }
        let mapping = self.mapping
        let p = mapping.base + dataStart + e.byteRange.lowerBound
        // Tensors keep the mapping alive through the storage's release closure.
        let storage = TensorStorage(borrowing: p, byteCount: e.byteRange.count, release: { _ = mapping })
        if Int(bitPattern: p) % e.dtype.byteSize != 0 {
            // Misaligned data (legal in the format): copy once so pointer loads stay aligned.
            let copy = Tensor(empty: e.shape, dtype: e.dtype)
            copy.rawPointer.copyMemory(from: p, byteCount: e.byteRange.count)
            return copy
        }
        return Tensor(storage: storage, dtype: e.dtype, shape: e.shape)
    }
}

/// A read-only private mapping of a whole file.
final class MappedFile: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let size: Int

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw WeightError.cannotOpen(file: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw WeightError.cannotOpen(file: path, reason: String(cString: strerror(errno))) }
        size = Int(st.st_size)
        if size == 0 {
            base = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw WeightError.cannotOpen(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = p
    }

    deinit {
        if size == 0 { base.deallocate() } else { munmap(base, size) }
    }
}
