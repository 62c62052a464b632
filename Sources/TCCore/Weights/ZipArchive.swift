import Foundation

/// The entries of a zip archive read through a memory map, for PyTorch checkpoints (torch.save's
/// zip format: stored, uncompressed entries, zip64 records for files over 4 GiB). Every entry's
/// data range is validated against the file size before it is handed out.
final class ZipArchive {
    struct Entry {
        let name: String
        /// Byte range of the entry's data within the file.
        let data: Range<Int>
    }

    let path: String
    let mapping: MappedFile
    /// Entries by name, in central-directory order in `names`.
    let entries: [String: Entry]
    let names: [String]

    init(path: String, mapping: MappedFile) throws {
        self.path = path
        self.mapping = mapping
        let reader = ByteReader(base: UnsafeRawPointer(mapping.base), count: mapping.size)
        func corrupt(_ reason: String) -> WeightError { .corrupt(file: path, reason: reason) }

        // End of central directory: 22 bytes plus up to 65535 bytes of comment, at the very end.
        let size = mapping.size
        guard size >= 22 else { throw corrupt("\(size) bytes is too short for a zip archive") }
        var eocd = -1
        var at = size - 22
        let lowest = max(0, size - 22 - 65535)
        while at >= lowest {
            if reader.u32(at) == 0x0605_4B50 { eocd = at; break }
            at -= 1
        }
        guard eocd >= 0 else { throw corrupt("no zip end-of-central-directory record (truncated or not a zip file)") }
        var count = Int(reader.u16(eocd + 10))
        var cdSize = Int(reader.u32(eocd + 12))
        var cdOffset = Int(reader.u32(eocd + 16))
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // Zip64: a locator right before the EOCD points at the zip64 end record.
            let loc = eocd - 20
            guard loc >= 0, reader.u32(loc) == 0x0706_4B50 else { throw corrupt("zip64 sizes without a zip64 locator") }
            let rec = try reader.int64(loc + 8, "zip64 end record offset", path)
            guard rec >= 0, rec <= size - 56, reader.u32(rec) == 0x0606_4B50 else {
                throw corrupt("zip64 end record offset \(rec) is not a zip64 end record")
            }
            count = try reader.int64(rec + 32, "entry count", path)
            cdSize = try reader.int64(rec + 40, "central directory size", path)
            cdOffset = try reader.int64(rec + 48, "central directory offset", path)
        }
        guard cdOffset >= 0, cdSize >= 0, cdOffset <= size, cdSize <= size - cdOffset else {
            throw corrupt("central directory (\(cdSize) bytes at \(cdOffset)) lies outside the \(size)-byte file")
        }
        guard count <= cdSize / 46 else { throw corrupt("\(count) entries cannot fit a \(cdSize)-byte central directory") }

        var entries: [String: Entry] = [:]
        var names: [String] = []
        var p = cdOffset
        let cdEnd = cdOffset + cdSize
        for i in 0..<count {
            guard p + 46 <= cdEnd, reader.u32(p) == 0x0201_4B50 else { throw corrupt("central directory entry \(i) is malformed") }
            let method = Int(reader.u16(p + 10))
            var compressed = Int(reader.u32(p + 20))
            var uncompressed = Int(reader.u32(p + 24))
            let nameLen = Int(reader.u16(p + 28)), extraLen = Int(reader.u16(p + 30)), commentLen = Int(reader.u16(p + 32))
            var local = Int(reader.u32(p + 42))
            guard p + 46 + nameLen + extraLen + commentLen <= cdEnd else { throw corrupt("central directory entry \(i) overruns the directory") }
            let name = String(decoding: UnsafeRawBufferPointer(start: reader.base + p + 46, count: nameLen), as: UTF8.self)
            // Zip64 extended information: the 64-bit values of the fields that read 0xFFFFFFFF, in order.
            var e = p + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd {
                let id = reader.u16(e), len = Int(reader.u16(e + 2))
                guard e + 4 + len <= extraEnd else { throw corrupt("entry '\(name)': malformed extra field") }
                if id == 0x0001 {
                    var f = e + 4
                    func next() throws -> Int {
                        guard f + 8 <= e + 4 + len else { throw corrupt("entry '\(name)': short zip64 extra field") }
                        defer { f += 8 }
                        return try reader.int64(f, "zip64 field of '\(name)'", path)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if local == 0xFFFF_FFFF { local = try next() }
                }
                e += 4 + len
            }
            guard method == 0 else {
                throw corrupt("entry '\(name)' is compressed (method \(method)); torch.save writes stored entries only")
            }
            guard compressed == uncompressed else {
                throw corrupt("entry '\(name)' is stored with \(compressed) bytes but declares \(uncompressed)")
            }
            guard local >= 0, local <= size - 30, reader.u32(local) == 0x0403_4B50 else {
                throw corrupt("entry '\(name)': no local header at offset \(local)")
            }
            let start = local + 30 + Int(reader.u16(local + 26)) + Int(reader.u16(local + 28))
            guard start <= size, uncompressed <= size - start else {
                throw corrupt("entry '\(name)' (\(uncompressed) bytes at \(start)) runs past the end of the \(size)-byte file")
            }
            if entries[name] == nil { names.append(name) }
            entries[name] = Entry(name: name, data: start..<(start + uncompressed))
            p += 46 + nameLen + extraLen + commentLen
        }
        self.entries = entries
        self.names = names
    }

    func bytes(_ e: Entry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: UnsafeRawPointer(mapping.base) + e.data.lowerBound, count: e.data.count)
    }

    /// Whether the file starts like a zip archive (a local file header).
    static func looksLikeZip(_ p: UnsafeRawPointer, count: Int) -> Bool {
        count >= 4 && p.loadUnaligned(as: UInt32.self).littleEndian == 0x0403_4B50
    }
}

/// Little-endian reads at checked offsets of a mapped file.
struct ByteReader {
    let base: UnsafeRawPointer
    let count: Int

    func u16(_ at: Int) -> UInt16 {
        at >= 0 && at + 2 <= count ? base.loadUnaligned(fromByteOffset: at, as: UInt16.self).littleEndian : 0
    }

    func u32(_ at: Int) -> UInt32 {
        at >= 0 && at + 4 <= count ? base.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian : 0
    }

    func int64(_ at: Int, _ what: String, _ path: String) throws -> Int {
        guard at >= 0, at + 8 <= count else { throw WeightError.corrupt(file: path, reason: "\(what) lies past the end of the file") }
        let v = base.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian
        guard v <= UInt64(Int.max) else { throw WeightError.corrupt(file: path, reason: "\(what) is \(v)") }
        return Int(v)
    }
}
