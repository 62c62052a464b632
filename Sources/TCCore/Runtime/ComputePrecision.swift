import CTCKernels

/// Arithmetic precision of the large matrix products behind `sgemm` (convolutions, linear layers,
/// attention): `.f32` (the default; the parity path, bit-for-bit unchanged) or `.bf16`, where
/// operands are rounded to bfloat16 and multiplied with AVX-512 BF16 (`vdpbf16ps`), accumulating in
/// float32 — about twice the sgemm throughput at ~3 significant digits per operand. Everything else
/// (norms, softmax, activations, small products) stays float32.
///
/// How to use it:
///
///     let y = withComputePrecision(.bf16) { unet(x, t: t, context: c) }   // a scope on this thread
///     ComputePrecision.processDefault = .bf16                            // or for the whole process
///
/// A scope belongs to the thread that opens it, so concurrent callers can use different precisions;
/// TCCore's `parallelFor`/`parallelChunks` carry it into their workers. The process default starts
/// from the environment variable `TCGRAPH_PRECISION` (`f32` | `bf16`), which also reaches plugins.
/// On a CPU without AVX-512 BF16, `.bf16` computes in float32 (with a one-time notice on stderr).
public enum ComputePrecision: String, Sendable, CaseIterable {
    case f32
    case bf16

    /// The precision `sgemm` uses on this thread now: the innermost scope, else the process default.
    public static var current: ComputePrecision { ComputePrecision(code: tck_precision_current()) }

    /// Used where no scope is open. Thread-safe.
    public static var processDefault: ComputePrecision {
        get { ComputePrecision(code: tck_precision_default()) }
        set { tck_set_precision_default(newValue.code) }
    }

    /// Whether this CPU computes `.bf16` natively (AVX-512 BF16).
    public static var bf16Available: Bool { tck_has_bf16() != 0 }

    /// Whether `.bf16` products run on AMX tiles (Sapphire Rapids and later, with the kernel's
    /// permission; `TCGRAPH_AMX=0` keeps the AVX-512 BF16 kernel).
    public static var amxAvailable: Bool { tck_has_amx() != 0 }

    /// The kernel `.bf16` products run on here: "AMX-BF16", "AVX-512 BF16" or "float32 (no bf16)".
    public static var bf16Kernel: String {
        amxAvailable ? "AMX-BF16" : bf16Available ? "AVX-512 BF16" : "float32 (no bf16)"
    }

    init(code: Int32) { self = code == Int32(TCK_PRECISION_BF16) ? .bf16 : .f32 }

    var code: Int32 { Int32(self == .bf16 ? TCK_PRECISION_BF16 : TCK_PRECISION_F32) }
}

/// Runs `body` with `precision` for this thread's matrix products, restoring the previous scope after.
public func withComputePrecision<R>(_ precision: ComputePrecision, _ body: () throws -> R) rethrows -> R {
    let saved = tck_precision_thread()
    tck_set_precision_thread(precision.code)
    defer { tck_set_precision_thread(saved) }
    return try body()
}

/// The calling thread's open scope (0: none), so parallel loops can carry it into their workers.
func currentPrecisionScope() -> Int32 { tck_precision_thread() }

/// Runs `body` inside a scope captured with `currentPrecisionScope()` on another thread.
@inline(__always)
func withPrecisionScope<R>(_ scope: Int32, _ body: () throws -> R) rethrows -> R {
    if scope == 0 { return try body() }
    let saved = tck_precision_thread()
    tck_set_precision_thread(scope)
    defer { tck_set_precision_thread(saved) }
    return try body()
}
