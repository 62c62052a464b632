import Foundation
import Yams

/// A YAML scalar as written, with where it was written.
public struct GraphScalar: Sendable, Equatable {
    public let text: String
    /// Quoted in the file ('…' or "…"): never null, never a number or boolean by accident.
    public let quoted: Bool
    public let location: SourceLocation

    /// YAML's null (`~`, `null`, or nothing) when unquoted.
    public var isNull: Bool { !quoted && ["", "~", "null", "Null", "NULL"].contains(text) }
}

/// A graph file as parsed, before validation against the node descriptors.
///
///     tcgraph: 1
///     name: walk                  # optional, defaults to the file name
///     params: { seed: 123 }       # overridable with --set name=value, used as $seed
///     nodes:
///       a:    { type: Load, path: examples/a.png }
///       save: { type: Write, in: { images: a.image }, path: "out/a.####.exr" }
public struct GraphDocument: Sendable {
    public struct Param: Sendable {
        public let name: String
        public var value: GraphScalar
    }

    public struct Input: Sendable {
        public let port: String
        public let portLocation: SourceLocation
        /// `node.port`, or `node` alone for a node with a single output.
        public let source: GraphScalar
    }

    public struct Node: Sendable {
        public let id: String
        public let location: SourceLocation
        public let type: GraphScalar
        public let inputs: [Input]
        /// Parameters in file order: name, its key location, its value.
        public let params: [(name: String, keyLocation: SourceLocation, value: GraphScalar)]
    }

    public let file: String
    public let name: String
    public var params: [Param]
    public let nodes: [Node]
    /// Location of the `nodes:` key, for graph-wide messages.
    public let nodesLocation: SourceLocation

    /// Reads and parses a graph file; syntax and shape errors carry file:line:column.
    public init(contentsOf file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw GraphError(nil, "\(file): cannot read the graph file (\(FileManager.default.fileExists(atPath: file) ? "permission denied" : "no such file"))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw GraphError(SourceLocation(file: file, line: 1, column: 1), "the graph file is not UTF-8 text")
        }
        try self.init(yaml: text, file: file)
    }

    public init(yaml: String, file: String) throws {
        self.file = file
        func loc(_ mark: Mark?) -> SourceLocation {
            SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
        }
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let e as YamlError {
            throw GraphError([GraphDocument.diagnostic(e, file: file)])
        }
        guard let root, let top = root.mapping else {
            throw GraphError(loc(root?.mark), "a graph file is a YAML mapping with keys tcgraph, params and nodes")
        }
        var errors: [GraphDiagnostic] = []
        func scalar(_ node: Yams.Node, what: String) -> GraphScalar? {
            GraphDocument.scalar(node, what, loc: loc, errors: &errors)
        }

        var version: GraphScalar?
        var name: String?
        var params: [Param] = []
        var nodes: [Node] = []
        var nodesLocation = loc(root.mark)
        for (k, v) in top {
            guard let key = k.scalar?.string else {
                errors.append(GraphDiagnostic(loc(k.mark), "top-level keys are plain names"))
                continue
            }
            switch key {
            case "tcgraph":
                version = scalar(v, what: "'tcgraph'")
            case "name":
                name = scalar(v, what: "'name'")?.text
            case "params":
                guard let m = v.mapping else {
                    if v.scalar.map({ GraphScalar(text: $0.string, quoted: $0.style != .plain, location: loc($0.mark)).isNull }) != true {
                        errors.append(GraphDiagnostic(loc(v.mark), "'params' must be a mapping of name: value"))
                    }
                    continue
                }
                for (pk, pv) in m {
                    guard let pname = pk.scalar?.string, GraphDocument.isIdentifier(pname) else {
                        errors.append(GraphDiagnostic(loc(pk.mark), "graph parameter names are identifiers (letters, digits, _), got '\(pk.scalar?.string ?? "?")'"))
                        continue
                    }
                    if let value = scalar(pv, what: "graph parameter '\(pname)'") { params.append(Param(name: pname, value: value)) }
                }
            case "nodes":
                nodesLocation = loc(k.mark)
                guard let m = v.mapping else {
                    errors.append(GraphDiagnostic(loc(v.mark), "'nodes' must be a mapping of node id: { type: …, … }"))
                    continue
                }
                for (nk, nv) in m {
                    guard let id = nk.scalar?.string, GraphDocument.isIdentifier(id) else {
                        errors.append(GraphDiagnostic(loc(nk.mark), "node ids are identifiers (letters, digits, _), got '\(nk.scalar?.string ?? "?")'"))
                        continue
                    }
                    if let node = GraphDocument.node(id, nk, nv, loc: loc, errors: &errors) { nodes.append(node) }
                }
            default:
                errors.append(GraphDiagnostic(loc(k.mark), "unknown top-level key '\(key)' (expected tcgraph, name, params, nodes)"))
            }
        }
        if let version {
            if version.text != "1" {
                errors.append(GraphDiagnostic(version.location, "unsupported graph format version '\(version.text)' (this tcgraph reads version 1)"))
            }
        } else if errors.isEmpty {
            errors.append(GraphDiagnostic(loc(root.mark), "missing 'tcgraph: 1' (the graph format version)"))
        }
        if nodes.isEmpty && errors.isEmpty {
            errors.append(GraphDiagnostic(nodesLocation, "the graph has no nodes"))
        }
        if !errors.isEmpty { throw GraphError(errors) }
        self.name = name ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        self.params = params
        self.nodes = nodes
        self.nodesLocation = nodesLocation
    }

    private static func scalar(_ node: Yams.Node, _ what: String, loc: (Mark?) -> SourceLocation,
                               errors: inout [GraphDiagnostic]) -> GraphScalar? {
        guard let s = node.scalar else {
            errors.append(GraphDiagnostic(loc(node.mark), "\(what) must be a single value, not a \(node.mapping != nil ? "mapping" : "list")"))
            return nil
        }
        return GraphScalar(text: s.string, quoted: s.style != .plain, location: loc(s.mark))
    }

    private static func node(_ id: String, _ key: Yams.Node, _ value: Yams.Node, loc: (Mark?) -> SourceLocation,
                             errors: inout [GraphDiagnostic]) -> Node? {
        func scalar(_ node: Yams.Node, _ what: String) -> GraphScalar? {
            GraphDocument.scalar(node, what, loc: loc, errors: &errors)
        }
        guard let m = value.mapping else {
            errors.append(GraphDiagnostic(loc(value.mark), "node '\(id)' must be a mapping like { type: Load, path: … }"))
            return nil
        }
        var type: GraphScalar?
        var inputs: [Input] = []
        var params: [(String, SourceLocation, GraphScalar)] = []
        for (k, v) in m {
            guard let name = k.scalar?.string else {
                errors.append(GraphDiagnostic(loc(k.mark), "node '\(id)': keys are plain names"))
                continue
            }
            switch name {
            case "type":
                type = scalar(v, "node '\(id)': 'type'")
            case "in":
                guard let im = v.mapping else {
                    errors.append(GraphDiagnostic(loc(v.mark), "node '\(id)': 'in' maps input ports to upstream outputs, like { images: load.image }"))
                    continue
                }
                for (ik, iv) in im {
                    guard let port = ik.scalar?.string else {
                        errors.append(GraphDiagnostic(loc(ik.mark), "node '\(id)': input port names are plain names"))
                        continue
                    }
                    if let src = scalar(iv, "node '\(id)': input '\(port)'") {
                        inputs.append(Input(port: port, portLocation: loc(ik.mark), source: src))
                    }
                }
            default:
                if let s = scalar(v, "node '\(id)': parameter '\(name)'") { params.append((name, loc(k.mark), s)) }
            }
        }
        guard let type else {
            errors.append(GraphDiagnostic(loc(key.mark), "node '\(id)' has no 'type'"))
            return nil
        }
        return Node(id: id, location: loc(key.mark), type: type, inputs: inputs, params: params)
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let f = s.unicodeScalars.first, f == "_" || CharacterSet.letters.contains(f) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || CharacterSet.alphanumerics.contains($0) }
    }

    static func diagnostic(_ e: YamlError, file: String) -> GraphDiagnostic {
        func at(_ m: Mark) -> SourceLocation { SourceLocation(file: file, line: m.line, column: m.column) }
        switch e {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let ctx = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return GraphDiagnostic(at(mark), "YAML syntax: \(problem)\(ctx)")
        case let .duplicatedKeysInMapping(duplicates, context):
            return GraphDiagnostic(at(context.mark), "duplicate key\(duplicates.count > 1 ? "s" : "") \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in a mapping")
        case let .reader(problem, offset, _, _):
            return GraphDiagnostic(SourceLocation(file: file, line: 1, column: 1), "YAML input: \(problem)\(offset.map { " at character \($0)" } ?? "")")
        default:
            return GraphDiagnostic(SourceLocation(file: file, line: 1, column: 1), "YAML: \(e)")
        }
    }
}

extension GraphDocument {
    /// Applies `--set name=value` overrides; each must name a parameter the graph declares.
    public mutating func override(_ assignments: [String]) throws {
        var errors: [GraphDiagnostic] = []
        for a in assignments {
            guard let eq = a.firstIndex(of: "=") else {
                errors.append(GraphDiagnostic(nil, "--set \(a): expected name=value"))
                continue
            }
            let name = String(a[..<eq]), value = String(a[a.index(after: eq)...])
            guard let i = params.firstIndex(where: { $0.name == name }) else {
                let known = params.map(\.name).joined(separator: ", ")
                errors.append(GraphDiagnostic(nil, "--set \(name)=…: the graph has no parameter '\(name)' (it has: \(known.isEmpty ? "none" : known))"))
                continue
            }
            let at = SourceLocation(file: "--set \(a)", line: 0, column: 0)
            params[i].value = GraphScalar(text: value, quoted: false, location: at)
        }
        if !errors.isEmpty { throw GraphError(errors) }
    }
}
