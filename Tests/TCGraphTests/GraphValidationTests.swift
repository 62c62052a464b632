import TCGraph
import XCTest

/// Every validation error carries its message and file:line:column, before anything runs.
final class GraphValidationTests: XCTestCase {
    /// (line, column) of `token` on the first line of `yaml` containing `context`.
    func position(_ token: String, in context: String, _ yaml: String) -> (Int, Int) {
        let lines = yaml.components(separatedBy: "\n")
        let i = lines.firstIndex { $0.contains(context) }!
        let line = lines[i]
        let start = line.range(of: context)!.lowerBound
        let r = line.range(of: token, range: start..<line.endIndex)!
        return (i + 1, line.distance(from: line.startIndex, to: r.lowerBound) + 1)
    }

    /// Validates `yaml` expecting failure; returns the diagnostics.
    func diagnostics(_ yaml: String, set: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> [GraphDiagnostic] {
        let registry = try Fixture.registry()
        do {
            _ = try Fixture.graph(yaml, registry: registry, set: set)
            XCTFail("expected a validation error", file: file, line: line)
            return []
        } catch let e as GraphError {
            return e.diagnostics
        }
    }

    func assertError(_ yaml: String, _ message: String, at token: String, in context: String,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let ds = try diagnostics(yaml, file: file, line: line)
        let (l, c) = position(token, in: context, yaml)
        guard let d = ds.first(where: { $0.message.contains(message) }) else {
            XCTFail("no diagnostic containing '\(message)' in \(ds)", file: file, line: line)
            return
        }
        XCTAssertEqual(d.location?.line, l, "line of: \(d)", file: file, line: line)
        XCTAssertEqual(d.location?.column, c, "column of: \(d)", file: file, line: line)
        XCTAssertTrue(d.location?.file.hasSuffix("g.yaml") ?? false, file: file, line: line)
        XCTAssertTrue(d.description.contains("g.yaml:\(l):\(c): error: "), d.description, file: file, line: line)
    }

    func testValidGraphParsesWithTypedParams() throws {
        let g = try Fixture.graph("""
            tcgraph: 1
            name: demo
            params: { count: 7, step: 0.5 }
            nodes:
              a: { type: CSource, n: $count, scale: $step }
              b: { type: CScale, in: { data: a.data }, factor: 2, mode: exact }
            """, registry: Fixture.registry())
        XCTAssertEqual(g.name, "demo")
        XCTAssertEqual(g.nodes.map(\.id), ["a", "b"])
        XCTAssertEqual(g.nodes[0].param("n"), .int(7))
        XCTAssertEqual(g.nodes[0].param("scale"), .float(0.5))
        XCTAssertEqual(g.nodes[1].param("mode"), .string("exact"))
        XCTAssertEqual(g.nodes[1].inputs, [Graph.Connection(node: 0, output: 0), nil])
    }

    func testDefaultsAndSetOverrides() throws {
        let yaml = """
            tcgraph: 1
            params: { count: 7, out: "x" }
            nodes:
              a: { type: CSource, n: $count }
              w: { type: CGradient }
              s: { type: Write, in: { images: w.image }, path: "${out}/f.####.png" }
            """
        let g = try Fixture.graph(yaml, registry: Fixture.registry(), set: ["count=9", "out=/tmp/o"])
        XCTAssertEqual(g.nodes[0].param("n"), .int(9))
        XCTAssertEqual(g.nodes[0].param("scale"), .float(1.0), "default from the descriptor")
        XCTAssertEqual(g.nodes[2].param("path"), .string("/tmp/o/f.####.png"), "embedded substitution")
        XCTAssertEqual(g.nodes[2].param("start"), .unset)
        XCTAssertThrowsError(try Fixture.graph(yaml, registry: Fixture.registry(), set: ["nope=1"])) { e in
            XCTAssertTrue("\(e)".contains("the graph has no parameter 'nope' (it has: count, out)"), "\(e)")
        }
    }

    func testMalformedYAML() throws {
        let ds = try diagnostics("tcgraph: 1\nnodes:\n  a: { type: CSource\n  b: [\n")
        XCTAssertEqual(ds.count, 1)
        XCTAssertTrue(ds[0].message.hasPrefix("YAML syntax:"), ds[0].message)
        XCTAssertNotNil(ds[0].location)
        XCTAssertGreaterThanOrEqual(ds[0].location!.line, 3)
    }

    func testDuplicateKey() throws {
        let ds = try diagnostics("tcgraph: 1\nnodes:\n  a: { type: CSource }\n  a: { type: CSource }\n")
        XCTAssertTrue(ds.contains { $0.message.contains("duplicate key 'a'") }, "\(ds)")
    }

    func testVersionAndTopLevelKeys() throws {
        try assertError("nodes:\n  a: { type: CSource }\n", "missing 'tcgraph: 1'", at: "nodes", in: "nodes")
        try assertError("tcgraph: 2\nnodes:\n  a: { type: CSource }\n", "unsupported graph format version '2'", at: "2", in: "tcgraph")
        try assertError("tcgraph: 1\nnodez:\n  a: { type: CSource }\n", "unknown top-level key 'nodez'", at: "nodez", in: "nodez")
        try assertError("tcgraph: 1\nnodes: {}\n", "the graph has no nodes", at: "nodes", in: "nodes")
    }

    func testUnknownNodeType() throws {
        // Known types continue with whatever model plugins are built (sorted).
        try assertError("tcgraph: 1\nnodes:\n  a: { type: Nope }\n", "unknown node type 'Nope' (known types: CGradient, CScale, CSlow, CSource, CWeight, ",
                        at: "Nope", in: "type")
        try assertError("tcgraph: 1\nnodes:\n  a: { n: 3 }\n", "node 'a' has no 'type'", at: "a", in: "a:")
    }

    func testUnknownParameter() throws {
        try assertError("tcgraph: 1\nnodes:\n  a: { type: CSource, size: 3 }\n",
                        "node 'a' (CSource) has no parameter 'size' (parameters: n, scale)", at: "size", in: "size")
    }

    func testMissingRequiredParameter() throws {
        try assertError("tcgraph: 1\nnodes:\n  a: { type: CSource }\n  b: { type: CScale, in: { data: a.data } }\n",
                        "node 'b' (CScale) needs parameter 'factor' (float)", at: "b", in: "b:")
    }

    func testBadValueTypeRangeAndChoice() throws {
        try assertError("tcgraph: 1\nnodes:\n  a: { type: CSource, n: abc }\n",
                        "parameter 'n' expects an integer, got 'abc'", at: "abc", in: "abc")
        try assertError("tcgraph: 1\nnodes:\n  a: { type: CSource, n: 5000 }\n",
                        "parameter 'n' must be ≤ 1000 and ≥ 1, got 5000", at: "5000", in: "5000")
        try assertError("tcgraph: 1\nnodes:\n  a: { type: CSource, n: 0 }\n",
                        "parameter 'n' must be ≥ 1 and ≤ 1000, got 0", at: "0", in: "n: 0")
        try assertError("tcgraph: 1\nnodes:\n  a: { type: CSource }\n  b: { type: CScale, in: { data: a.data }, factor: 2, mode: slow }\n",
                        "parameter 'mode' expects one of fast|exact, got 'slow'", at: "slow", in: "slow")
        try assertError("tcgraph: 1\nnodes:\n  a: { type: CSource, n: [1, 2] }\n",
                        "node 'a': parameter 'n' must be a single value, not a list", at: "[", in: "n:")
    }

    func testBadValueThroughGraphParameter() throws {
        let yaml = "tcgraph: 1\nparams: { count: lots }\nnodes:\n  a: { type: CSource, n: $count }\n"
        try assertError(yaml, "parameter 'n' expects an integer, got 'lots'", at: "$count", in: "$count")
    }

    func testUnresolvedParameter() throws {
        try assertError("tcgraph: 1\nparams: { seed: 1 }\nnodes:\n  a: { type: CSource, n: $count }\n",
                        "unresolved '$count': the graph has no parameter 'count' (params: seed)", at: "$count", in: "$count")
        try assertError("tcgraph: 1\nnodes:\n  w: { type: CGradient }\n  s: { type: Write, in: { images: w.image }, path: \"${out}/x.png\" }\n",
                        "unresolved '$out'", at: "\"${out}", in: "path")
    }

    func testWiringErrors() throws {
        try assertError("tcgraph: 1\nnodes:\n  a: { type: CSource }\n  b: { type: CScale, in: { dat: a.data }, factor: 1 }\n",
                        "node 'b' (CScale) has no input 'dat' (inputs: data, offset)", at: "dat", in: "dat:")
        try assertError("tcgraph: 1\nnodes:\n  a: { type: CSource }\n  b: { type: CScale, in: { data: z.data }, factor: 1 }\n",
                        "input 'data' of node 'b' refers to unknown node 'z'", at: "z.data", in: "z.data")
        try assertError("tcgraph: 1\nnodes:\n  a: { type: CSource }\n  b: { type: CScale, in: { data: a.values }, factor: 1 }\n",
                        "node 'a' (CSource) has no output 'values' (outputs: data)", at: "a.values", in: "a.values")
    }

    func testPortKindMismatch() throws {
        try assertError("tcgraph: 1\nnodes:\n  g: { type: CGradient }\n  b: { type: CScale, in: { data: g.image }, factor: 1 }\n",
                        "input 'data' of node 'b' expects TENSORS, but g.image is IMAGE", at: "g.image", in: "g.image")
    }

    func testMissingRequiredInputButOptionalMayBeLeftOut() throws {
        try assertError("tcgraph: 1\nnodes:\n  b: { type: CScale, factor: 1 }\n",
                        "node 'b' (CScale) needs input 'data' (TENSORS)", at: "b", in: "b:")
        let ds = try diagnostics("tcgraph: 1\nnodes:\n  b: { type: CScale, factor: 1 }\n")
        XCTAssertFalse(ds.contains { $0.message.contains("'offset'") }, "optional input reported: \(ds)")
    }

    func testCycle() throws {
        let yaml = """
            tcgraph: 1
            nodes:
              s: { type: CSource }
              a: { type: CScale, in: { data: b.data, offset: s.data }, factor: 1 }
              b: { type: CScale, in: { data: c.data }, factor: 1 }
              c: { type: CScale, in: { data: a.data }, factor: 1 }
            """
        try assertError(yaml, "the graph has a cycle: a → b → c → a", at: "a", in: "a:")
    }

    func testAllErrorsAreReportedAtOnce() throws {
        let ds = try diagnostics("tcgraph: 1\nnodes:\n  a: { type: Nope }\n  b: { type: CSource, n: x }\n  c: { type: CSource, bogus: 1 }\n")
        XCTAssertEqual(ds.count, 3, "\(ds)")
    }

    func testMissingGraphFile() {
        XCTAssertThrowsError(try GraphDocument(contentsOf: "/nonexistent/g.yaml")) { e in
            XCTAssertEqual("\(e)", "error: /nonexistent/g.yaml: cannot read the graph file (no such file)")
        }
    }
}
