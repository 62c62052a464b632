import Foundation
import TCCore
import TCGraph
import XCTest

/// Execution order, the C plugin inside graphs, the output cache, errors, cancellation, weights.
final class ExecutionTests: XCTestCase {
    override func tearDown() { Cancellation.reset() }

    func run(_ yaml: String, cache: String? = nil, models: [String] = [], observer: RecordingObserver = RecordingObserver(),
             set: [String] = []) throws -> RunReport {
        let g = try Fixture.graph(yaml, registry: Fixture.registry(), set: set)
        return try Executor(graph: g, options: .test(cache: cache, models: models, observer: observer)).run()
    }

    func weightFile(_ tensors: [String: Tensor], _ path: String) throws {
        _ = try writeSafeTensors(tensors.map { k, t in SafeTensorsEntry(key: k, dtype: t.dtype, shape: t.shape) { t } }, to: path)
    }

    func values(_ report: RunReport, _ node: String, port: Int = 0) -> [Float] {
        report.outputs[node]?[port]["values"]?.toArray() ?? []
    }

    func testTopologicalOrderFollowsFileOrderAmongReadyNodes() throws {
        let report = try run("""
            tcgraph: 1
            nodes:
              b: { type: CScale, in: { data: a.data }, factor: 2 }
              a: { type: CSource, n: 4, scale: 0.5 }
              c: { type: CScale, in: { data: b.data }, factor: 3 }
              d: { type: CSource, n: 2 }
            """)
        XCTAssertEqual(report.steps.map(\.node), ["a", "d", "b", "c"])
        XCTAssertEqual(report.ran, ["a", "d", "b", "c"])
        XCTAssertEqual(values(report, "c"), [0, 3, 6, 9])
        XCTAssertEqual(values(report, "d"), [0, 1])
        XCTAssertNil(report.outputs["b"], "b is consumed, not a terminal")
    }

    func testCPluginBundlesMetadataOptionalInputsProgressAndLogs() throws {
        let observer = RecordingObserver()
        let report = try run("""
            tcgraph: 1
            nodes:
              a: { type: CSource, n: 3, scale: 2 }
              o: { type: CSource, n: 1, scale: 0 }
              five: { type: CScale, in: { data: o.data }, factor: 1 }
              b: { type: CScale, in: { data: a.data, offset: a.data }, factor: 10 }
            """, observer: observer)
        XCTAssertEqual(values(report, "b"), [0, 20, 40], "offset = a[0] = 0")
        XCTAssertEqual(report.outputs["b"]?[0].meta["made_by"], "c+scaled")
        XCTAssertEqual(observer.progress.filter { $0.0 == "b" }.map(\.1), [1, 2, 3])
        XCTAssertTrue(observer.logs.contains { $0.0 == "b" && $0.2 == "scaled" })
        XCTAssertEqual(observer.started, ["a", "o", "five", "b"])
    }

    func testNodeErrorNamesTheNode() throws {
        XCTAssertThrowsError(try run("tcgraph: 1\nnodes:\n  a: { type: CSource }\n  b: { type: CScale, in: { data: a.data }, factor: 0 }\n")) { e in
            XCTAssertEqual(e as? RunError, .nodeFailed(node: "b", type: "CScale", message: "factor 0 would erase the data"))
            XCTAssertEqual("\(e)", "node 'b' (CScale) failed: factor 0 would erase the data")
        }
    }

    func testCacheHitsAndMisses() throws {
        let cache = Fixture.tempDir("cache")
        let yaml = """
            tcgraph: 1
            params: { f: 2, n: 4 }
            nodes:
              a: { type: CSource, n: $n }
              b: { type: CScale, in: { data: a.data }, factor: 3 }
              c: { type: CScale, in: { data: b.data }, factor: $f }
            """
        let first = try run(yaml, cache: cache)
        XCTAssertEqual(first.ran, ["a", "b", "c"])
        XCTAssertEqual(values(first, "c"), [0, 6, 12, 18])

        let second = try run(yaml, cache: cache)
        XCTAssertEqual(second.ran, [], "everything is cached")
        XCTAssertEqual(second.cached, ["c"], "only the terminal is loaded; its inputs are not needed")
        XCTAssertEqual(values(second, "c"), [0, 6, 12, 18])
        XCTAssertEqual(second.outputs["c"]?[0].meta["made_by"], "c+scaled+scaled", "metadata survives the cache")

        let changedLast = try run(yaml, cache: cache, set: ["f=5"])
        XCTAssertEqual(changedLast.ran, ["c"])
        XCTAssertEqual(changedLast.cached, ["b"])
        XCTAssertEqual(values(changedLast, "c"), [0, 15, 30, 45])

        let changedFirst = try run(yaml, cache: cache, set: ["n=2"])
        XCTAssertEqual(changedFirst.ran, ["a", "b", "c"])

        let noCache = try run(yaml)
        XCTAssertEqual(noCache.ran, ["a", "b", "c"])
    }

    func testChangingOnlyWriteRerunsOnlyWrite() throws {
        let cache = Fixture.tempDir("cache"), out = Fixture.tempDir("out")
        let yaml = """
            tcgraph: 1
            params: { name: a }
            nodes:
              g: { type: CGradient, width: 6, height: 3 }
              w: { type: Write, in: { images: g.image }, path: "\(out)/$name.####.png" }
            """
        XCTAssertEqual(try run(yaml, cache: cache).ran, ["g", "w"])
        let again = try run(yaml, cache: cache, set: ["name=b"])
        XCTAssertEqual(again.ran, ["w"], "Write has side effects: it always runs")
        XCTAssertEqual(again.cached, ["g"])
        XCTAssertEqual(Fixture.files(out), ["a.0001.png", "b.0001.png"])
    }

    func testFileInputsEnterTheCacheKey() throws {
        let cache = Fixture.tempDir("cache"), dir = Fixture.tempDir("in")
        let image = Tensor([0.25, 0.5, 0.75], [1, 1, 3])
        try TCImageIOTestSupport.writePNG(image, "\(dir)/f.0001.png")
        let yaml = "tcgraph: 1\nnodes:\n  l: { type: Load, path: \"\(dir)/f.####.png\" }\n"
        XCTAssertEqual(try run(yaml, cache: cache).ran, ["l"])
        XCTAssertEqual(try run(yaml, cache: cache).cached, ["l"])
        try TCImageIOTestSupport.writePNG(Tensor([1, 1, 1, 0, 0, 0], [1, 2, 3]), "\(dir)/f.0001.png")
        let changed = try run(yaml, cache: cache)
        XCTAssertEqual(changed.ran, ["l"], "a modified input file is a cache miss")
        XCTAssertEqual(changed.outputs["l"]?[0]["images"]?.shape, [1, 1, 2, 3])
        try TCImageIOTestSupport.writePNG(Tensor([1, 1, 1, 0, 0, 0], [1, 2, 3]), "\(dir)/f.0002.png")
        XCTAssertEqual(try run(yaml, cache: cache).ran, ["l"], "a new frame of the sequence is a cache miss")
    }

    func testCancellationInsideANode() throws {
        let g = try Fixture.graph("tcgraph: 1\nnodes:\n  s: { type: CSlow, steps: 1000 }\n", registry: Fixture.registry())
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { Cancellation.request() }
        let start = Date()
        XCTAssertThrowsError(try Executor(graph: g, options: .test()).run()) { e in
            XCTAssertEqual(e as? RunError, .cancelled(node: "s"))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "stopped inside the 10 s loop")
    }

    func testCancellationBetweenNodes() throws {
        let g = try Fixture.graph("tcgraph: 1\nnodes:\n  a: { type: CSource }\n", registry: Fixture.registry())
        Cancellation.request()
        XCTAssertThrowsError(try Executor(graph: g, options: .test()).run()) { e in
            XCTAssertEqual(e as? RunError, .cancelled(node: nil))
        }
    }

    func testWeightStoreThroughTheCABI() throws {
        let models = Fixture.tempDir("models")
        try weightFile(["w": Tensor([1, 2, 3], [3]), "h": Tensor([0.5, -2], [2]).converted(to: .f16)], "\(models)/m.safetensors")
        let report = try run("""
            tcgraph: 1
            nodes:
              a: { type: CWeight, model: m.safetensors, key: w }
              b: { type: CWeight, model: m.safetensors, key: h }
              c: { type: CWeight, model: m.safetensors, key: w, as: f16 }
              d: { type: CWeight, model: "\(models)/m.safetensors", key: h, as: f32 }
            """, models: [models])
        XCTAssertEqual(values(report, "a"), [1, 2, 3])
        XCTAssertEqual(report.outputs["a"]?[0].meta["keys"], "2")
        XCTAssertEqual(report.outputs["a"]?[0].meta["file"], "\(models)/m.safetensors")
        XCTAssertEqual(report.outputs["b"]?[0]["values"]?.dtype, .f16, "as stored")
        XCTAssertEqual(values(report, "b"), [0.5, -2])
        XCTAssertEqual(report.outputs["c"]?[0]["values"]?.dtype, .f16, "converted on request")
        XCTAssertEqual(report.outputs["d"]?[0]["values"]?.dtype, .f32)
        XCTAssertEqual(values(report, "d"), [0.5, -2])
    }

    func testOneWeightFileIsOpenedOnceForAllNodes() throws {
        let models = Fixture.tempDir("models")
        try weightFile(["w": Tensor([1], [1])], "\(models)/m.safetensors")
        let g = try Fixture.graph("""
            tcgraph: 1
            nodes:
              a: { type: CWeight, model: m.safetensors, key: w }
              b: { type: CWeight, model: "\(models)/m.safetensors", key: w }
            """, registry: Fixture.registry())
        let store = WeightStore(folders: [models])
        _ = try Executor(graph: g, options: RunOptions(cache: nil, weights: store, observer: RecordingObserver())).run()
        XCTAssertEqual(store.openedPaths, ["\(models)/m.safetensors"])
    }

    func testMissingModelNamesFilesFoldersAndSource() throws {
        let models = Fixture.tempDir("models")
        XCTAssertThrowsError(try run("tcgraph: 1\nnodes:\n  a: { type: CWeight, model: nope.safetensors, key: w }\n", models: [models])) { e in
            guard case let .nodeFailed(node, _, message) = e as? RunError else { return XCTFail("\(e)") }
            XCTAssertEqual(node, "a")
            XCTAssertEqual(message, "model file not found: looked for 'nope.safetensors' or 'fallback-model.safetensors' in \(models) (set with --models DIR or TCGRAPH_MODELS); get it from the test fixture")
        }
        try weightFile(["w": Tensor([1], [1])], "\(models)/m.safetensors")
        XCTAssertThrowsError(try run("tcgraph: 1\nnodes:\n  a: { type: CWeight, model: m.safetensors, key: q }\n", models: [models])) { e in
            XCTAssertEqual("\(e)", "node 'a' (CWeight) failed: \(models)/m.safetensors: missing tensor 'q'")
        }
    }

    func testModelFolderSearchOrder() {
        let f = WeightStore.folders(explicit: ["/a"], environment: ["TCGRAPH_MODELS": "/b:/c", "HOME": "/h"])
        XCTAssertEqual(f, ["/a", "/b", "/c", "/h/.cache/tcgraph/models"])
    }

    func testContentHashSeparatesFields() {
        var a = ContentHash(), b = ContentHash()
        a.add("ab"); a.add("c")
        b.add("a"); b.add("bc")
        XCTAssertNotEqual(a.hex, b.hex)
        XCTAssertEqual(a.hex.count, 32)
        var c = ContentHash()
        c.add("ab"); c.add("c")
        XCTAssertEqual(a.hex, c.hex)
    }
}
