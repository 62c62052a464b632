import COpenBLAS
import CTCKernels
import Foundation

/// The kernel family OpenBLAS picked for this CPU (e.g. "Haswell", "SkylakeX").
public func openBLASCoreName() -> String {
    guard let p = openblas_get_corename() else { return "unknown" }
    return String(cString: p)
}

/// OpenBLAS chooses its kernels once, when the library loads, from the CPU or from
/// `OPENBLAS_CORETYPE`. On this project's AMD Zen 5 machine the environment pins `Haswell` (AVX2),
/// while the CPU runs OpenBLAS's AVX-512 kernels (`Cooperlake`, detected when unpinned) with about
/// 1.9× the sgemm throughput. The choice can only be changed in the environment of a new process,
/// so the CLI re-executes itself once at start (`applyProcessDefault`).
public enum OpenBLASTuning {
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
    /// `OPENBLAS_CORETYPE`), or an `OPENBLAS_CORETYPE` name. Results stay within the parity
    /// tolerances either way; only the speed changes.
    /// A process that is already a re-execution keeps its kernels: a command such as `bench
    /// --openblas-core NAME` chose them, and choosing again here would re-execute back and forth.
    public static func applyProcessDefault() {
        let env = ProcessInfo.processInfo.environment
        guard env["TCGRAPH_OPENBLAS_REEXEC"] == nil else { return }
        select(env["TCGRAPH_OPENBLAS_CORE"] ?? "auto")
    }

    /// `keep` (or empty): nothing; `auto`: the recommended family; otherwise the named one.
    public static func select(_ choice: String) {
        switch choice.lowercased() {
        case "keep", "": return
        case "auto": reexec()
        case let name: reexec(withCoreType: name)
        }
    }

    /// Replaces this process by itself with `OPENBLAS_CORETYPE = core` (default: the recommended
    /// one), same arguments and otherwise the same environment. Returns when there is nothing to
    /// change, when this process is already a re-execution for that core (OpenBLAS did not take
    /// it), or when exec fails. Call it before any work.
    public static func reexec(withCoreType core: String? = recommendedCoreType) {
        guard let core, openBLASCoreName().lowercased() != core.lowercased(),
              ProcessInfo.processInfo.environment["TCGRAPH_OPENBLAS_REEXEC"]?.lowercased() != core.lowercased() else { return }
        #if os(Linux)
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("TCGRAPH_OPENBLAS_REEXEC", core, 1)
        fflush(stdout)
        fflush(stderr)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("TCGRAPH_OPENBLAS_REEXEC")
        #endif
    }
}
