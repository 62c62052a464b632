import COpenBLAS
import CTCKernels
import Foundation

/// The kernel family OpenBLAS picked for this CPU (e.g. "Haswell", "SkylakeX").
public func openBLASCoreName() -> String {
    guard let p = openblas_get_corename() else { return "unknown" }
    return String(cString: p)
}

/// OpenBLAS reads its configuration once, when the library loads, from the environment:
/// - its kernels, from the CPU or `OPENBLAS_CORETYPE`. Some of this project's machines pin `Haswell`
///   (AVX2) while the CPU runs OpenBLAS's AVX-512 kernels (`Cooperlake`) with about 1.9× the sgemm
///   throughput;
/// - how long its idle worker threads spin (`sched_yield`) after a call before they sleep:
///   `OPENBLAS_THREAD_TIMEOUT`, 2^N TSC cycles, default N = 28 (about 0.1 s). Nearly every norm,
///   attention and im2col loop of TCCore runs within 0.1 s of a GEMM, so with the default a spinning
///   worker takes a share of the cores from TCCore's own threads: a full UNet forward spends ~10 %
///   of its CPU time in sched_yield and runs 10–13 % slower than with N = 4 (sleep at once; waking
///   it costs microseconds per GEMM call).
/// Both can only be set in the environment of a new process, so the CLI re-executes itself once at
/// start (`applyProcessDefault`).
public enum OpenBLASTuning {
    /// `OPENBLAS_THREAD_TIMEOUT` when the environment does not set one (OpenBLAS's minimum).
    public static let idleSpinExponent = "4"

    /// The widest OpenBLAS kernel family this CPU runs, when the loaded one is narrower.
    public static var recommendedCoreType: String? {
        let avx512 = tck_cpu_avx512()
        guard avx512 > 0 else { return nil }
        let core = openBLASCoreName().lowercased()
        if ["skylakex", "cooperlake", "sapphirerapids"].contains(core) { return nil }
        return avx512 == 2 ? "Cooperlake" : "SkylakeX"
    }

    /// The process-wide choice, first thing in `main`: `TCGRAPH_OPENBLAS_CORE` = `auto` (the
    /// default: the widest family this CPU runs), `keep` (whatever OpenBLAS loaded, e.g. from
    /// `OPENBLAS_CORETYPE`), or an `OPENBLAS_CORETYPE` name; and the idle-spin timeout unless
    /// `OPENBLAS_THREAD_TIMEOUT` is set. Results stay within the parity tolerances either way; only
    /// the speed changes.
    /// A process that is already a re-execution keeps its kernels: a command such as `bench
    /// --openblas-core NAME` chose them, and choosing again here would re-execute back and forth.
    public static func applyProcessDefault() {
        let env = ProcessInfo.processInfo.environment
        guard env["TCGRAPH_OPENBLAS_REEXEC"] == nil else { return }
        select(env["TCGRAPH_OPENBLAS_CORE"] ?? "auto")
    }

    /// `keep` (or empty): the loaded kernels; `auto`: the recommended family; otherwise the named
    /// one. The idle-spin timeout is set in every case unless the environment has one.
    public static func select(_ choice: String) {
        switch choice.lowercased() {
        case "keep", "": reexec(withCoreType: nil)
        case "auto": reexec()
        case let name: reexec(withCoreType: name)
        }
    }

    /// Replaces this process by itself with `OPENBLAS_CORETYPE = core` (default: the recommended
    /// one; nil: the loaded kernels) and `OPENBLAS_THREAD_TIMEOUT` (unless set), same arguments and
    /// otherwise the same environment. Returns when there is nothing to change, when this process is
    /// already a re-execution for that core (OpenBLAS did not take it), or when exec fails. Call it
    /// before any work.
    public static func reexec(withCoreType core: String? = recommendedCoreType) {
        let env = ProcessInfo.processInfo.environment
        let newCore = core.flatMap { c -> String? in
            openBLASCoreName().lowercased() != c.lowercased()
                && env["TCGRAPH_OPENBLAS_REEXEC"]?.lowercased() != c.lowercased() ? c : nil
        }
        let setTimeout = env["OPENBLAS_THREAD_TIMEOUT"] == nil
        guard newCore != nil || setTimeout else { return }
        #if os(Linux)
        if let newCore { setenv("OPENBLAS_CORETYPE", newCore, 1) }
        if setTimeout { setenv("OPENBLAS_THREAD_TIMEOUT", idleSpinExponent, 1) }
        setenv("TCGRAPH_OPENBLAS_REEXEC", newCore ?? "keep", 1)
        fflush(stdout)
        fflush(stderr)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("TCGRAPH_OPENBLAS_REEXEC")
        if setTimeout { unsetenv("OPENBLAS_THREAD_TIMEOUT") }
        #endif
    }
}
