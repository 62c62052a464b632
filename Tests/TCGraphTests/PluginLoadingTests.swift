import Foundation
import TCGraph
import XCTest

/// Plugin discovery and the errors of plugins that cannot be used, each naming the file.
final class PluginLoadingTests: XCTestCase {
    func testBuiltPluginsAreFoundInTheProductsFolder() throws {
        try Fixture.requireBuild()
        let files = try PluginLoader.libraries(in: [Fixture.products])
        XCTAssertTrue(files.contains { $0.hasSuffix("/libTCPluginLoad.so") }, "\(files)")
        XCTAssertTrue(files.contains { $0.hasSuffix("/libTCPluginWrite.so") }, "\(files)")
        let registry = try NodeRegistry(searchPath: [Fixture.products])
        XCTAssertEqual(registry["Load"]?.outputs.map(\.kindName), ["IMAGE"])
        XCTAssertEqual(registry["Write"]?.sideEffects, true)
        XCTAssertEqual(registry["Load"]?.params.first { $0.name == "fit" }?.choices, ["crop", "pad", "stretch"])
    }

    func testSearchPathOrder() {
        let p = PluginLoader.searchPath(explicit: ["/x"], environment: ["TCGRAPH_PLUGIN_PATH": "/a::/b"], includeDefault: false)
        XCTAssertEqual(p, ["/x", "/a", "/b"])
        XCTAssertEqual(PluginLoader.searchPath(explicit: [], environment: [:]).last, PluginLoader.executableFolder)
    }

    func testTheSameLibraryReachedTwiceLoadsOnce() throws {
        let c = try Fixture.cPlugin.get()
        let dir = (c as NSString).deletingLastPathComponent
        XCTAssertEqual(try PluginLoader.libraries(in: [c, dir]), [c])
    }

    func testABIMajorMismatchIsRefused() throws {
        let lib = try Fixture.compileCPlugin(name: "Future", flags: ["-DTEST_ABI_MAJOR=99"])
        XCTAssertThrowsError(try NodeRegistry(searchPath: [lib])) { e in
            XCTAssertEqual(e as? PluginError, PluginError(file: lib, "plugin ABI version 99.0 is incompatible with this tcgraph (ABI 1.0); rebuild the plugin against tcgraph_abi.h 1.x"))
        }
    }

    func testDuplicateNodeTypesNameBothFiles() throws {
        let a = try Fixture.cPlugin.get()
        let b = try Fixture.compileCPlugin(name: "Copy")
        XCTAssertThrowsError(try NodeRegistry(searchPath: [a, b])) { e in
            XCTAssertEqual(e as? PluginError, PluginError(file: b, "node type 'CSource' is already provided by \(a); remove one of the two libraries from the plugin path"))
        }
    }

    func testUnloadableLibrary() throws {
        let dir = Fixture.tempDir("bad")
        let lib = "\(dir)/libTCPluginBroken.so"
        Fixture.write("this is not an ELF file", to: lib)
        XCTAssertThrowsError(try NodeRegistry(searchPath: [dir])) { e in
            let p = e as? PluginError
            XCTAssertEqual(p?.file, lib)
            XCTAssertTrue(p?.message.hasPrefix("cannot load plugin library: ") ?? false, "\(e)")
        }
    }

    func testLibraryWithoutEntryPoint() throws {
        guard let cc = Fixture.cCompiler else { throw XCTSkip("no C compiler") }
        let dir = Fixture.tempDir("noentry")
        Fixture.write("int not_a_plugin(void) { return 1; }\n", to: "\(dir)/x.c")
        let lib = "\(dir)/libTCPluginNothing.so"
        XCTAssertEqual(Fixture.run(cc, ["-shared", "-fPIC", "\(dir)/x.c", "-o", lib]).status, 0)
        XCTAssertThrowsError(try NodeRegistry(searchPath: [lib])) { e in
            XCTAssertEqual(e as? PluginError, PluginError(file: lib, "not a tcgraph plugin: it does not export 'tcgraph_plugin_entry'"))
        }
    }

    func testMissingPathEntry() {
        XCTAssertThrowsError(try NodeRegistry(searchPath: ["/nonexistent/plugins"])) { e in
            XCTAssertEqual(e as? PluginError, PluginError(file: "/nonexistent/plugins", "plugin path entry does not exist"))
        }
    }
}
