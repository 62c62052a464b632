import CTCABI

/// The Swift view of a plugin's `tc_node_desc`: what validation, docs and the executor read.
public struct NodeType: @unchecked Sendable {
    public struct PortSpec: Sendable, Equatable {
        public let name: String
        public let kind: Int32
        public let optional: Bool
        public let doc: String
        public var kindName: String { String(cString: tc_kind_name(kind)) }
    }

    public enum ParamKind: Int32, Sendable {
        case int = 1, float = 2, bool = 3, string = 4, choice = 5, path = 6

        public var name: String {
            switch self {
            case .int: "int"
            case .float: "float"
            case .bool: "bool"
            case .string: "string"
            case .choice: "choice"
            case .path: "path"
            }
        }
    }

    public struct ParamSpec: Sendable {
        public let name: String
        public let kind: ParamKind
        public let required: Bool
        public let defaultText: String?
        public let min: Double?
        public let max: Double?
        public let choices: [String]
        public let readsFiles: Bool
        public let doc: String
    }

    public let type: String
    public let version: Int
    public let sideEffects: Bool
    public let doc: String
    public let inputs: [PortSpec]
    public let outputs: [PortSpec]
    public let params: [ParamSpec]
    /// The library that provides the node.
    public let file: String
    let descriptor: UnsafePointer<tc_node_desc>

    /// Reads a descriptor, rejecting malformed ones with a message naming what is wrong.
    init(_ d: UnsafePointer<tc_node_desc>, file: String) throws {
        let v = d.pointee
        descriptor = d
        self.file = file
        func text(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }
        let type = text(v.type)
        self.type = type
        guard !type.isEmpty else { throw PluginError(file: file, "a node descriptor has an empty type name") }
        version = Int(v.version)
        sideEffects = v.flags & UInt32(TC_NODE_SIDE_EFFECTS) != 0
        doc = text(v.doc)
        func ports(_ n: Int32, _ p: UnsafePointer<tc_port_desc>) throws -> [PortSpec] {
            guard n >= 0 else { throw PluginError(file: file, "node \(type) declares \(n) ports") }
            return (0..<Int(n)).map { i in
                PortSpec(name: text(p[i].name), kind: p[i].kind,
                         optional: p[i].flags & UInt32(TC_PORT_OPTIONAL) != 0, doc: text(p[i].doc))
            }
        }
        let inputs = try ports(v.n_inputs, v.inputs)
        let outputs = try ports(v.n_outputs, v.outputs)
        self.inputs = inputs
        self.outputs = outputs
        guard v.n_params >= 0 else { throw PluginError(file: file, "node \(type) declares \(v.n_params) params") }
        var params: [ParamSpec] = []
        for i in 0..<Int(v.n_params) {
            let p = v.params[i]
            guard let kind = ParamKind(rawValue: p.type) else {
                throw PluginError(file: file, "node \(type) parameter '\(text(p.name))' has unknown type \(p.type)")
            }
            params.append(ParamSpec(
                name: text(p.name), kind: kind, required: p.flags & UInt32(TC_PARAM_REQUIRED) != 0,
                defaultText: p.default_value.map { String(cString: $0) },
                min: p.flags & UInt32(TC_PARAM_HAS_MIN) != 0 ? p.min : nil,
                max: p.flags & UInt32(TC_PARAM_HAS_MAX) != 0 ? p.max : nil,
                choices: p.choices.map { String(cString: $0).split(separator: "|").map(String.init) } ?? [],
                readsFiles: p.flags & UInt32(TC_PARAM_READS_FILES) != 0, doc: text(p.doc)))
        }
        self.params = params
        for (what, names) in [("input", inputs.map(\.name)), ("output", outputs.map(\.name)), ("parameter", params.map(\.name))] {
            if let dup = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 }) {
                throw PluginError(file: file, "node \(type) declares \(what) '\(dup.key)' twice")
            }
        }
        if params.contains(where: { ["type", "in"].contains($0.name) }) {
            throw PluginError(file: file, "node \(type) declares a parameter named 'type' or 'in' (reserved by the graph format)")
        }
    }

    /// First line of the doc.
    public var summary: String { doc.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? "" }
}
