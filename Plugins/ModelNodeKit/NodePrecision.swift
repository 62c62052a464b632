import TCCore
import TCPluginKit

/// The model nodes' `precision` parameter: the matrix products of one node in float32 or in
/// bfloat16 (AVX-512 BF16, float32 accumulation; `ComputePrecision`), so a graph can, say, denoise
/// in bf16 and decode in float32. `auto` follows the process default (TCGRAPH_PRECISION, else f32).
public enum NodePrecision {
    public static let param = Param.choice(
        "precision", ["auto", "f32", "bf16"], default: "auto",
        doc: "Matrix products in float32 (f32, the parity path) or bfloat16 (bf16: about twice as fast on CPUs with "
            + "AVX-512 BF16, about 3 significant digits); auto follows TCGRAPH_PRECISION (default f32).")

    /// Runs the node's work in the precision its parameter asks for.
    public static func run(_ ctx: NodeContext, _ body: () throws -> Void) throws {
        switch try ctx.string("precision") {
        case "f32":
            try withComputePrecision(.f32, body)
        case "bf16":
            if !ComputePrecision.bf16Available {
                ctx.log("precision bf16: this CPU has no AVX-512 BF16, so the products run in float32", level: .warning)
            }
            try withComputePrecision(.bf16, body)
        default:
            try body()
        }
    }
}
