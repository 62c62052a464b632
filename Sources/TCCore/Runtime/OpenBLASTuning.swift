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
/// 1.9× the sgemm throughput. The choice can only be changed in the environment of a new process.
public enum OpenBLASTuning {
    /// The widest OpenBLAS kernel family this CPU runs, when the loaded one is narrower.
    public static var recommendedCoreType: String? {
        let avx512 = tck_cpu_avx512()
        guard avx512 > 0 else { return nil }
        let core = openBLASCoreName().lowercased()
        if ["skylakex", "cooperlake", "sapphirerapids"].contains(core) { return nil }
        return avx512 == 2 ? "Cooperlake" : "SkylakeX"
    }

    /// Replaces this process by itself with `OPENBLAS_CORETYPE = core` (default: the recommended
    /// one), same arguments and otherwise the same environment. Returns when there is nothing to
    /// change, when this process is already such a re-execution, or when exec fails. Call it before
    /// any work (first thing in `main`).
    public static func reexec(withCoreType core: String? = recommendedCoreType) {
        guard let core, ProcessInfo.processInfo.environment["TCGRAPH_OPENBLAS_REEXEC"] == nil else { return }
        #if os(Linux)
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("TCGRAPH_OPENBLAS_REEXEC", "1", 1)
        fflush(stdout)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("TCGRAPH_OPENBLAS_REEXEC")
        #endif
    }
}
