import CZlib
import Foundation

/// Decompresses a whole gzip file (the BPE vocabulary) with zlib.
func gunzip(_ data: Data, name: String) throws -> Data {
    var stream = z_stream()
    // 15 window bits + 32: detect the gzip header.
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw TokenizerError.vocabulary(path: name, reason: "zlib could not start")
    }
    defer { inflateEnd(&stream) }
    var out = Data()
    let chunk = 1 << 20
    var buffer = [UInt8](repeating: 0, count: chunk)
    var status: Int32 = Z_OK
    try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
        stream.next_in = UnsafeMutablePointer(mutating: src.bindMemory(to: Bytef.self).baseAddress)
        stream.avail_in = uInt(src.count)
        repeat {
            try buffer.withUnsafeMutableBufferPointer { dst in
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(chunk)
                status = inflate(&stream, Z_NO_FLUSH)
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw TokenizerError.vocabulary(path: name, reason: "not a valid gzip stream (zlib status \(status))")
                }
                out.append(dst.baseAddress!, count: chunk - Int(stream.avail_out))
            }
        } while status != Z_STREAM_END && (stream.avail_in > 0 || stream.avail_out == 0)
    }
    guard status == Z_STREAM_END else {
        throw TokenizerError.vocabulary(path: name, reason: "truncated gzip stream")
    }
    return out
}
