import CTCABI
import Foundation

/// Finds plugin libraries and loads them with dlopen. A folder contributes its files named
/// `libTCPlugin*.so` (`.dylib` on macOS); a path to a file loads that file whatever its name.
/// Libraries stay loaded for the life of the process (their descriptors and tensors may be in use).
public enum PluginLoader {
    #if os(macOS)
    static let suffix = ".dylib"
    #else
    static let suffix = ".so"
    #endif
    public static let prefix = "libTCPlugin"

    /// The folder of the running executable, where SwiftPM puts the plugin libraries it builds.
    public static var executableFolder: String {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: link).deletingLastPathComponent().path
        }
        return exe.deletingLastPathComponent().path
    }

    /// Search order: `--plugins` entries, then $TCGRAPH_PLUGIN_PATH (colon-separated), then the
    /// executable's folder (unless `includeDefault` is false).
    public static func searchPath(explicit: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                                  includeDefault: Bool = true) -> [String] {
        var path = explicit
        if let env = environment["TCGRAPH_PLUGIN_PATH"] {
            path += env.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        if includeDefault { path.append(executableFolder) }
        return path
    }

    /// The library files a search path names, each once (by resolved path), in search order.
    public static func libraries(in searchPath: [String]) throws -> [String] {
        var seen = Set<String>()
        var files: [String] = []
        let fm = FileManager.default
        for entry in searchPath {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: entry, isDirectory: &isDir) else {
                throw PluginError(file: entry, "plugin path entry does not exist")
            }
            let candidates: [String]
            if isDir.boolValue {
                let names = (try? fm.contentsOfDirectory(atPath: entry)) ?? []
                candidates = names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }.sorted()
                    .map { (entry as NSString).appendingPathComponent($0) }
            } else {
                candidates = [entry]
            }
            for c in candidates {
                let real = URL(fileURLWithPath: c).resolvingSymlinksInPath().path
                if seen.insert(real).inserted { files.append(c) }
            }
        }
        return files
    }

    /// dlopen + the entry point + the ABI check. Each failure names the file.
    static func load(_ file: String) throws -> UnsafePointer<tc_plugin> {
        guard let handle = dlopen(file, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw PluginError(file: file, "cannot load plugin library: \(reason)")
        }
        guard let sym = dlsym(handle, TC_PLUGIN_ENTRY_SYMBOL) else {
            throw PluginError(file: file, "not a tcgraph plugin: it does not export '\(TC_PLUGIN_ENTRY_SYMBOL)'")
        }
        let entry = unsafeBitCast(sym, to: tc_plugin_entry_fn.self)
        let plugin = entry()
        let major = plugin.pointee.abi_major, minor = plugin.pointee.abi_minor
        guard major == UInt32(TC_ABI_MAJOR) else {
            throw PluginError(file: file, "plugin ABI version \(major).\(minor) is incompatible with this tcgraph (ABI \(TC_ABI_MAJOR).\(TC_ABI_MINOR)); rebuild the plugin against tcgraph_abi.h \(TC_ABI_MAJOR).x")
        }
        return plugin
    }
}
