/// A 128-bit non-cryptographic hash for cache keys (MurmurHash3 x64-128 mixing over the bytes fed
/// in). Keys only need to tell different inputs apart, not resist an adversary.
public struct ContentHash {
    private var bytes: [UInt8] = []

    public init() {}

    /// Adds a string with its length, so ("ab","c") and ("a","bc") differ.
    public mutating func add(_ s: String) {
        add(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    public mutating func add(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func add(_ v: Int) { add(UInt64(bitPattern: Int64(v))) }

    /// 32 lowercase hex digits.
    public var hex: String {
        let (a, b) = Self.murmur128(bytes, seed: 0x7463_6772)
        return Self.hex64(a) + Self.hex64(b)
    }

    static func hex64(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    static func murmur128(_ data: [UInt8], seed: UInt64) -> (UInt64, UInt64) {
        let c1: UInt64 = 0x87c3_7b91_1142_53d5, c2: UInt64 = 0x4cf5_ad43_2745_937f
        var h1 = seed, h2 = seed
        func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
        func load(_ i: Int) -> UInt64 {
            var v: UInt64 = 0
            for k in 0..<8 where i + k < data.count { v |= UInt64(data[i + k]) << (8 * UInt64(k)) }
            return v
        }
        let blocks = data.count / 16
        for b in 0..<blocks {
            var k1 = load(b * 16), k2 = load(b * 16 + 8)
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
            h1 = rotl(h1, 27); h1 &+= h2; h1 = h1 &* 5 &+ 0x52dc_e729
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
            h2 = rotl(h2, 31); h2 &+= h1; h2 = h2 &* 5 &+ 0x3849_5ab5
        }
        let tail = blocks * 16, rest = data.count - tail
        if rest > 8 {
            var k2 = load(tail + 8) & (rest == 16 ? ~0 : (1 << (8 * UInt64(rest - 8))) - 1)
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
        }
        if rest > 0 {
            var k1 = load(tail) & (rest >= 8 ? ~0 : (1 << (8 * UInt64(rest))) - 1)
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
        }
        h1 ^= UInt64(data.count); h2 ^= UInt64(data.count)
        h1 &+= h2; h2 &+= h1
        func fmix(_ k: UInt64) -> UInt64 {
            var k = k
            k ^= k >> 33; k &*= 0xff51_afd7_ed55_8ccd
            k ^= k >> 33; k &*= 0xc4ce_b9fe_1a85_ec53
            k ^= k >> 33
            return k
        }
        h1 = fmix(h1); h2 = fmix(h2)
        h1 &+= h2; h2 &+= h1
        return (h1, h2)
    }
}
