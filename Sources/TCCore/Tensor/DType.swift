/// Element types a tensor can be stored in. Compute is float32; the others are storage formats
/// (weights in f16/bf16, token ids in i64, images in u8).
public enum DType: String, CaseIterable, Sendable {
    case f32, f16, bf16, f64, i64, i32, u8

    public var byteSize: Int {
        switch self {
        case .f64, .i64: 8
        case .f32, .i32: 4
        case .f16, .bf16: 2
        case .u8: 1
        }
    }

    /// DLPack type code (0 int, 1 uint, 2 float, 4 bfloat) and bit width.
    public var dlpack: (code: UInt8, bits: UInt8) {
        switch self {
        case .f32: (2, 32)
        case .f16: (2, 16)
        case .f64: (2, 64)
        case .bf16: (4, 16)
        case .i64: (0, 64)
        case .i32: (0, 32)
        case .u8: (1, 8)
        }
    }

    public init?(dlpackCode code: UInt8, bits: UInt8) {
        guard let t = DType.allCases.first(where: { $0.dlpack == (code, bits) }) else { return nil }
        self = t
    }
}
