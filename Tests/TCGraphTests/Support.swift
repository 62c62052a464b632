import Foundation
import TCGraph
import XCTest

/// Paths, the compiled C test plugin, temporary folders and a process runner for the engine tests.
enum Fixture {
    /// The package root (this file is Tests/TCGraphTests/Support.swift).
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Where SwiftPM put the test bundle, the tcgraph executable and the plugin libraries.
    static let products: String = {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // On macOS the runner is xctest inside the toolchain; the bundle sits in the products folder.
        if !FileManager.default.fileExists(atPath: dir.appendingPathComponent("tcgraph").path) {
            dir = URL(fileURLWithPath: repo).appendingPathComponent(".build/release")
        }
        return dir.path
    }()

    static var executable: String { products + "/tcgraph" }

    static func requireBuild() throws {
        for f in [executable, products + "/libTCPluginLoad.so", products + "/libTCPluginWrite.so"]
        where !FileManager.default.fileExists(atPath: f) {
            XCTFail("\(f) is missing: build first with `swift build -c release`")
            throw XCTSkip("build products missing")
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var counter = 0
    static let root: String = {
        let p = NSTemporaryDirectory() + "tcgraph-tests-\(getpid())"
        try? FileManager.default.removeItem(atPath: p)
        try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }()

    /// A fresh empty folder.
    static func tempDir(_ name: String = "t") -> String {
        lock.lock()
        counter += 1
        let p = "\(root)/\(name)-\(counter)"
        lock.unlock()
        try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    static func write(_ text: String, to path: String) {
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// A C compiler: $CC, cc, gcc, clang on PATH, or the Swift toolchain's clang.
    static let cCompiler: String? = {
        let env = ProcessInfo.processInfo.environment
        if let cc = env["CC"], !cc.isEmpty { return cc }
        let path = (env["PATH"] ?? "").split(separator: ":").map(String.init)
        for name in ["cc", "gcc", "clang"] {
            for d in path where FileManager.default.isExecutableFile(atPath: "\(d)/\(name)") { return "\(d)/\(name)" }
        }
        return nil
    }()

    /// Compiles Tests/CPlugin/test_plugin.c into `libTCPlugin<name>.so` with extra flags.
    static func compileCPlugin(name: String = "CTest", flags: [String] = []) throws -> String {
        guard let cc = cCompiler else { throw XCTSkip("no C compiler found (set CC)") }
        let dir = tempDir("cplugin")
        let out = "\(dir)/libTCPlugin\(name).so"
        let r = run(cc, ["-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I", "\(repo)/Sources/CTCABI/include"]
            + flags + ["\(repo)/Tests/CPlugin/test_plugin.c", "\(repo)/Sources/CTCABI/tc_abi.c", "-o", out])
        guard r.status == 0 else {
            XCTFail("compiling the C plugin failed:\n\(r.stderr)")
            throw XCTSkip("C plugin does not compile")
        }
        return out
    }

    /// The standard C test plugin, compiled once per test process.
    static let cPlugin: Result<String, Error> = Result { try compileCPlugin() }

    /// Registry with the C test plugin and the built Load/Write plugins.
    static func registry() throws -> NodeRegistry {
        try requireBuild()
        return try NodeRegistry(searchPath: [cPlugin.get(), products])
    }

    /// Parses and validates graph text written to a file in a temp folder.
    static func graph(_ yaml: String, registry: NodeRegistry, name: String = "g.yaml", set: [String] = []) throws -> Graph {
        let file = tempDir("graph") + "/" + name
        write(yaml, to: file)
        var doc = try GraphDocument(contentsOf: file)
        try doc.override(set)
        return try Graph(document: doc, registry: registry)
    }

    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ exe: String, _ args: [String], cwd: String? = nil, environment: [String: String]? = nil) -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        if let environment { p.environment = environment }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try! p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Runs the built tcgraph executable.
    static func tcgraph(_ args: [String], cwd: String? = nil, environment: [String: String]? = nil) throws -> Output {
        try requireBuild()
        return run(executable, args, cwd: cwd, environment: environment)
    }

    /// Every file below `dir`, relative, sorted (hidden temporaries included).
    static func files(_ dir: String) -> [String] {
        ((FileManager.default.enumerator(atPath: dir)?.allObjects as? [String]) ?? []).filter { p in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: dir + "/" + p, isDirectory: &isDir) && !isDir.boolValue
        }.sorted()
    }
}

/// Remembers what a run reported.
final class RecordingObserver: RunObserver {
    private let lock = NSLock()
    private(set) var started: [String] = []
    private(set) var progress: [(String, Int, Int)] = []
    private(set) var logs: [(String, Int32, String)] = []

    func nodeStarted(_ node: String, type: String, step: Int, of steps: Int) {
        lock.lock(); started.append(node); lock.unlock()
    }
    func nodeProgress(_ node: String, done: Int, total: Int, message: String) {
        lock.lock(); progress.append((node, done, total)); lock.unlock()
    }
    func nodeLog(_ node: String, level: Int32, message: String) {
        lock.lock(); logs.append((node, level, message)); lock.unlock()
    }
    func nodeFinished(_ node: String, seconds: Double, cached: Bool) {}
}

extension RunOptions {
    static func test(cache: String? = nil, models: [String] = [], observer: RunObserver = RecordingObserver()) -> RunOptions {
        RunOptions(cache: cache.map(OutputCache.init(directory:)), weights: WeightStore(folders: models), observer: observer)
    }
}
