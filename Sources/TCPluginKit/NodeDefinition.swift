import CTCABI
import TCCore

/// What flows along an edge; see `tc_port_kind` in tcgraph_abi.h for each kind's contract.
public enum PortKind: Int32, Sendable, CaseIterable {
    case image = 1, sketch = 2, latent = 3, cond = 4, refs = 5, tensors = 6

    public var name: String { String(cString: tc_kind_name(rawValue)) }
}

/// An input or output port of a node.
public struct Port: Sendable {
    public let name: String
    public let kind: PortKind
    public let optional: Bool
    public let doc: String

    public init(_ name: String, _ kind: PortKind, optional: Bool = false, doc: String) {
        self.name = name
        self.kind = kind
        self.optional = optional
        self.doc = doc
    }
}

/// A node parameter: its type, default (as YAML text), range or choices, and documentation.
public struct Param: Sendable {
    public enum Kind: Int32, Sendable { case int = 1, float = 2, bool = 3, string = 4, choice = 5, path = 6 }

    public let name: String
    public let kind: Kind
    public let defaultText: String?
    public let required: Bool
    public let min: Double?
    public let max: Double?
    public let choices: [String]
    public let readsFiles: Bool
    public let doc: String

    init(_ name: String, _ kind: Kind, default d: String?, required: Bool = false, min: Double? = nil,
         max: Double? = nil, choices: [String] = [], readsFiles: Bool = false, doc: String) {
        self.name = name
        self.kind = kind
        defaultText = d
        self.required = required
        self.min = min
        self.max = max
        self.choices = choices
        self.readsFiles = readsFiles
        self.doc = doc
    }

    public static func int(_ name: String, default d: Int? = nil, min: Int? = nil, max: Int? = nil, doc: String) -> Param {
        Param(name, .int, default: d.map(String.init), min: min.map(Double.init), max: max.map(Double.init), doc: doc)
    }

    public static func float(_ name: String, default d: Double? = nil, min: Double? = nil, max: Double? = nil, doc: String) -> Param {
        Param(name, .float, default: d.map { "\($0)" }, min: min, max: max, doc: doc)
    }

    public static func bool(_ name: String, default d: Bool, doc: String) -> Param {
        Param(name, .bool, default: d ? "true" : "false", doc: doc)
    }

    public static func string(_ name: String, default d: String? = nil, doc: String) -> Param {
        Param(name, .string, default: d, doc: doc)
    }

    public static func choice(_ name: String, _ choices: [String], default d: String, doc: String) -> Param {
        Param(name, .choice, default: d, choices: choices, doc: doc)
    }

    /// A file path. `required` ones have no default; `readsFiles` ones enter the cache key by the
    /// size and modification time of the files (or numbered sequence) they name.
    public static func path(_ name: String, required: Bool = false, readsFiles: Bool = false, doc: String) -> Param {
        Param(name, .path, default: nil, required: required, readsFiles: readsFiles, doc: doc)
    }

    public static func requiredString(_ name: String, doc: String) -> Param {
        Param(name, .string, default: nil, required: true, doc: doc)
    }
}

/// A node type as a plugin author writes it: a descriptor and a `run` over Swift tensors.
public struct NodeDefinition: @unchecked Sendable {
    public let type: String
    public let version: Int
    public let doc: String
    /// Acts outside the graph (writes files): always runs, never cached.
    public let sideEffects: Bool
    public let inputs: [Port]
    public let outputs: [Port]
    public let params: [Param]
    public let run: (NodeContext) throws -> Void

    public init(type: String, version: Int = 1, doc: String, sideEffects: Bool = false,
                inputs: [Port] = [], outputs: [Port] = [], params: [Param] = [],
                run: @escaping (NodeContext) throws -> Void) {
        self.type = type
        self.version = version
        self.doc = doc
        self.sideEffects = sideEffects
        self.inputs = inputs
        self.outputs = outputs
        self.params = params
        self.run = run
    }
}
