import Foundation

/// A validated graph: every node type known, every parameter typed and in range, every input
/// wired to an output of the same kind, no cycles. Nodes are in execution (topological) order.
public final class Graph: @unchecked Sendable {
    public struct Connection: Sendable, Equatable {
        /// Index of the upstream node in `nodes`.
        public let node: Int
        /// Index of its output port.
        public let output: Int

        public init(node: Int, output: Int) {
            self.node = node
            self.output = output
        }
    }

    public struct Node: Sendable {
        public let id: String
        public let type: NodeType
        /// In descriptor order.
        public let params: [ParamValue]
        /// In descriptor order; nil for an unconnected optional input.
        public let inputs: [Connection?]
        public let location: SourceLocation

        public func param(_ name: String) -> ParamValue? {
            type.params.firstIndex { $0.name == name }.map { params[$0] }
        }
    }

    public let name: String
    public let file: String
    public let nodes: [Node]

    /// Validates `document` against the node types in `registry`, reporting every problem found
    /// (each with file:line:column) before anything runs.
    public init(document: GraphDocument, registry: NodeRegistry) throws {
        name = document.name
        file = document.file
        var errors: [GraphDiagnostic] = []
        var graphParams: [String: GraphScalar] = [:]
        for p in document.params { graphParams[p.name] = p.value }

        var seen: [String: SourceLocation] = [:]
        for n in document.nodes {
            if let first = seen[n.id] {
                errors.append(GraphDiagnostic(n.location, "node id '\(n.id)' is used twice (first at \(first))"))
            }
            seen[n.id] = n.location
        }
        let docIndex = Dictionary(document.nodes.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })

        // Types, parameters, and input wiring by document index.
        var types: [NodeType?] = []
        var params: [[ParamValue]] = []
        var wiring: [[(doc: Int, output: Int)?]] = []
        for n in document.nodes {
            guard let type = registry[n.type.text] else {
                let known = registry.sortedTypes.map(\.type).joined(separator: ", ")
                errors.append(GraphDiagnostic(n.type.location, "unknown node type '\(n.type.text)' (known types: \(known.isEmpty ? "none; no plugins loaded" : known))"))
                types.append(nil); params.append([]); wiring.append([])
                continue
            }
            types.append(type)
            params.append(Graph.typedParams(n, type, graphParams, &errors))
            wiring.append([])
        }
        for (i, n) in document.nodes.enumerated() {
            guard let type = types[i] else { continue }
            wiring[i] = Graph.wire(n, type, document, docIndex, types, &errors)
        }

        // Topological order, file order among ready nodes; what is left over lies on a cycle.
        var order: [Int] = []
        var placed = Set<Int>()
        let count = document.nodes.count
        var progress = true
        while progress && order.count < count {
            progress = false
            for i in 0..<count where !placed.contains(i) {
                let deps = wiring[i].compactMap { $0?.doc }
                if deps.allSatisfy(placed.contains) {
                    order.append(i)
                    placed.insert(i)
                    progress = true
                }
            }
        }
        if order.count < count {
            let stuck = (0..<count).filter { !placed.contains($0) }
            let cycle = Graph.findCycle(stuck, wiring)
            let path = (cycle + [cycle[0]]).map { document.nodes[$0].id }.joined(separator: " → ")
            errors.append(GraphDiagnostic(document.nodes[cycle[0]].location, "the graph has a cycle: \(path)"))
        }
        if !errors.isEmpty { throw GraphError(errors) }

        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        nodes = order.map { i in
            let n = document.nodes[i]
            return Node(id: n.id, type: types[i]!, params: params[i],
                        inputs: wiring[i].map { $0.map { Connection(node: position[$0.doc]!, output: $0.output) } },
                        location: n.location)
        }
    }

    public func index(of id: String) -> Int? { nodes.firstIndex { $0.id == id } }

    private static func typedParams(_ n: GraphDocument.Node, _ type: NodeType, _ graphParams: [String: GraphScalar],
                                    _ errors: inout [GraphDiagnostic]) -> [ParamValue] {
        var given: [String: GraphScalar] = [:]
        for p in n.params {
            guard type.params.contains(where: { $0.name == p.name }) else {
                let known = type.params.map(\.name).joined(separator: ", ")
                errors.append(GraphDiagnostic(p.keyLocation, "node '\(n.id)' (\(type.type)) has no parameter '\(p.name)' (parameters: \(known.isEmpty ? "none" : known))"))
                continue
            }
            switch substitute(p.value, graphParams) {
            case let .success(v): given[p.name] = v
            case let .failure(d): errors.append(d)
            }
        }
        return type.params.map { spec in
            let scalar: GraphScalar
            if let g = given[spec.name] {
                scalar = g
            } else if let d = spec.defaultText {
                scalar = GraphScalar(text: d, quoted: spec.kind == .string || spec.kind == .path, location: n.location)
            } else if spec.required {
                if !n.params.contains(where: { $0.name == spec.name }) {
                    errors.append(GraphDiagnostic(n.location, "node '\(n.id)' (\(type.type)) needs parameter '\(spec.name)' (\(spec.kind.name)): \(spec.doc)"))
                }
                return .unset
            } else {
                return .unset
            }
            switch ParamValue.parse(scalar, for: spec) {
            case let .success(v): return v
            case let .failure(problem):
                let message = problem.message
                let origin = n.params.first { $0.name == spec.name }.map { $0.value.text != scalar.text ? " (from \($0.value.text), set at \(scalar.location))" : "" } ?? ""
                let at = n.params.first { $0.name == spec.name }?.value.location ?? n.location
                errors.append(GraphDiagnostic(at, "node '\(n.id)': \(message)\(origin)"))
                return .unset
            }
        }
    }

    /// `$name` / `${name}` → the graph parameter's value; `$$` → `$`. A value that is exactly one
    /// reference takes the parameter's value whole (keeping its location for messages).
    static func substitute(_ s: GraphScalar, _ params: [String: GraphScalar]) -> Result<GraphScalar, GraphDiagnostic> {
        guard s.text.contains("$") else { return .success(s) }
        let chars = Array(s.text)
        var out = ""
        var i = 0
        var refs: [String] = []
        while i < chars.count {
            guard chars[i] == "$" else { out.append(chars[i]); i += 1; continue }
            if i + 1 < chars.count && chars[i + 1] == "$" { out.append("$"); i += 2; continue }
            var name = ""
            var j = i + 1
            if j < chars.count && chars[j] == "{" {
                j += 1
                while j < chars.count && chars[j] != "}" { name.append(chars[j]); j += 1 }
                guard j < chars.count else {
                    return .failure(GraphDiagnostic(s.location, "unterminated '${' in '\(s.text)'"))
                }
                j += 1
            } else {
                while j < chars.count && (chars[j] == "_" || chars[j].isLetter || chars[j].isNumber) { name.append(chars[j]); j += 1 }
            }
            guard let value = params[name] else {
                let known = params.keys.sorted().joined(separator: ", ")
                return .failure(GraphDiagnostic(s.location, name.isEmpty
                    ? "a lone '$' in '\(s.text)' (write $$ for a dollar sign)"
                    : "unresolved '$\(name)': the graph has no parameter '\(name)' (params: \(known.isEmpty ? "none" : known))"))
            }
            refs.append(name)
            out += value.text
            i = j
        }
        let whole = refs.count == 1 && (s.text == "$\(refs[0])" || s.text == "${\(refs[0])}")
        if whole, let v = params[refs[0]] { return .success(v) }
        return .success(GraphScalar(text: out, quoted: true, location: s.location))
    }

    private static func wire(_ n: GraphDocument.Node, _ type: NodeType, _ doc: GraphDocument, _ docIndex: [String: Int],
                             _ types: [NodeType?], _ errors: inout [GraphDiagnostic]) -> [(doc: Int, output: Int)?] {
        var result = [(doc: Int, output: Int)?](repeating: nil, count: type.inputs.count)
        for input in n.inputs {
            guard let pi = type.inputs.firstIndex(where: { $0.name == input.port }) else {
                let known = type.inputs.map(\.name).joined(separator: ", ")
                errors.append(GraphDiagnostic(input.portLocation, "node '\(n.id)' (\(type.type)) has no input '\(input.port)' (inputs: \(known.isEmpty ? "none" : known))"))
                continue
            }
            let parts = input.source.text.split(separator: ".", maxSplits: 1).map(String.init)
            guard let srcId = parts.first, let si = docIndex[srcId] else {
                errors.append(GraphDiagnostic(input.source.location, "input '\(input.port)' of node '\(n.id)' refers to unknown node '\(parts.first ?? input.source.text)' (write node.port)"))
                continue
            }
            guard let srcType = types[si] else { continue }
            let oi: Int
            if parts.count == 2 {
                guard let o = srcType.outputs.firstIndex(where: { $0.name == parts[1] }) else {
                    let known = srcType.outputs.map(\.name).joined(separator: ", ")
                    errors.append(GraphDiagnostic(input.source.location, "node '\(srcId)' (\(srcType.type)) has no output '\(parts[1])' (outputs: \(known.isEmpty ? "none" : known))"))
                    continue
                }
                oi = o
            } else {
                guard srcType.outputs.count == 1 else {
                    errors.append(GraphDiagnostic(input.source.location, "node '\(srcId)' has \(srcType.outputs.count) outputs; name one as \(srcId).port"))
                    continue
                }
                oi = 0
            }
            let want = type.inputs[pi], got = srcType.outputs[oi]
            guard want.kind == got.kind else {
                errors.append(GraphDiagnostic(input.source.location, "input '\(input.port)' of node '\(n.id)' expects \(want.kindName), but \(srcId).\(got.name) is \(got.kindName)"))
                continue
            }
            result[pi] = (si, oi)
        }
        for (pi, port) in type.inputs.enumerated() where result[pi] == nil && !port.optional {
            if !n.inputs.contains(where: { $0.port == port.name }) {
                errors.append(GraphDiagnostic(n.location, "node '\(n.id)' (\(type.type)) needs input '\(port.name)' (\(port.kindName)); add in: { \(port.name): node.port }"))
            }
        }
        return result
    }

    /// A cycle among `stuck` nodes (each waits on another stuck node), as document indices.
    private static func findCycle(_ stuck: [Int], _ wiring: [[(doc: Int, output: Int)?]]) -> [Int] {
        let stuckSet = Set(stuck)
        var path: [Int] = []
        var current = stuck[0]
        while !path.contains(current) {
            path.append(current)
            guard let next = wiring[current].compactMap({ $0?.doc }).first(where: stuckSet.contains) else { return path }
            current = next
        }
        return Array(path[path.firstIndex(of: current)!...])
    }
}
