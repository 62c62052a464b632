import CTCABI

/// Every node type the loaded plugins provide, by type name.
public final class NodeRegistry: @unchecked Sendable {
    public private(set) var types: [String: NodeType] = [:]
    /// Loaded plugin libraries: file, family name, version, node types.
    public private(set) var plugins: [(file: String, name: String, version: String, types: [String])] = []

    public init() {}

    /// Loads every library of `searchPath` (see `PluginLoader.searchPath`).
    public convenience init(searchPath: [String]) throws {
        self.init()
        for file in try PluginLoader.libraries(in: searchPath) { try load(file) }
    }

    /// Loads one plugin library. Two libraries claiming one node type is an error naming both.
    public func load(_ file: String) throws {
        let plugin = try PluginLoader.load(file)
        let p = plugin.pointee
        guard p.n_nodes >= 0 else { throw PluginError(file: file, "plugin declares \(p.n_nodes) nodes") }
        var added: [NodeType] = []
        for i in 0..<Int(p.n_nodes) {
            let t = try NodeType(p.nodes[i], file: file)
            if let other = types[t.type] ?? added.first(where: { $0.type == t.type }) {
                throw PluginError(file: file, "node type '\(t.type)' is already provided by \(other.file); remove one of the two libraries from the plugin path")
            }
            added.append(t)
        }
        for t in added { types[t.type] = t }
        plugins.append((file, String(cString: p.name), String(cString: p.version), added.map(\.type)))
    }

    public subscript(type: String) -> NodeType? { types[type] }

    public var sortedTypes: [NodeType] { types.values.sorted { $0.type < $1.type } }
}
