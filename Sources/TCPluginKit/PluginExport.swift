import CTCABI
import Foundation
import TCCore

/// Builds the C descriptors of a plugin from `NodeDefinition`s. A plugin library's whole export:
///
///     @_cdecl("tcgraph_plugin_entry")
///     public func tcgraphPluginEntry() -> UnsafeRawPointer {
///         Plugin.export(name: "Load", version: "1.0", nodes: [loadNode])
///     }
///
/// The descriptors are built once and live as long as the library (the host never unloads it).
public enum Plugin {
    nonisolated(unsafe) private static var exported: UnsafeRawPointer?
    private static let lock = NSLock()

    public static func export(name: String, version: String, nodes: [NodeDefinition]) -> UnsafeRawPointer {
        lock.lock()
        defer { lock.unlock() }
        if let exported { return exported }
        let descs = UnsafeMutablePointer<UnsafePointer<tc_node_desc>>.allocate(capacity: max(nodes.count, 1))
        for (i, node) in nodes.enumerated() { (descs + i).initialize(to: UnsafePointer(describe(node))) }
        let plugin = UnsafeMutablePointer<tc_plugin>.allocate(capacity: 1)
        plugin.initialize(to: tc_plugin(
            abi_major: UInt32(TC_ABI_MAJOR), abi_minor: UInt32(TC_ABI_MINOR),
            name: UnsafePointer(strdup(name)), version: UnsafePointer(strdup(version)),
            n_nodes: Int32(nodes.count), nodes: UnsafePointer(descs)))
        exported = UnsafeRawPointer(plugin)
        return UnsafeRawPointer(plugin)
    }

    private static func describe(_ node: NodeDefinition) -> UnsafeMutablePointer<tc_node_desc> {
        func ports(_ ps: [Port]) -> UnsafeMutablePointer<tc_port_desc> {
            let p = UnsafeMutablePointer<tc_port_desc>.allocate(capacity: max(ps.count, 1))
            for (i, port) in ps.enumerated() {
                p[i] = tc_port_desc(name: UnsafePointer(strdup(port.name)), kind: port.kind.rawValue,
                                    flags: port.optional ? UInt32(TC_PORT_OPTIONAL) : 0,
                                    doc: UnsafePointer(strdup(port.doc)))
            }
            return p
        }
        let params = UnsafeMutablePointer<tc_param_desc>.allocate(capacity: max(node.params.count, 1))
        for (i, p) in node.params.enumerated() {
            var flags: UInt32 = 0
            if p.required { flags |= UInt32(TC_PARAM_REQUIRED) }
            if p.min != nil { flags |= UInt32(TC_PARAM_HAS_MIN) }
            if p.max != nil { flags |= UInt32(TC_PARAM_HAS_MAX) }
            if p.readsFiles { flags |= UInt32(TC_PARAM_READS_FILES) }
            params[i] = tc_param_desc(
                name: UnsafePointer(strdup(p.name)), type: p.kind.rawValue, flags: flags,
                default_value: p.defaultText.map { UnsafePointer(strdup($0)) },
                min: p.min ?? 0, max: p.max ?? 0,
                choices: p.choices.isEmpty ? nil : UnsafePointer(strdup(p.choices.joined(separator: "|"))),
                doc: UnsafePointer(strdup(p.doc)))
        }
        let box = Unmanaged.passRetained(NodeBox(node)).toOpaque()
        let desc = UnsafeMutablePointer<tc_node_desc>.allocate(capacity: 1)
        desc.initialize(to: tc_node_desc(
            type: UnsafePointer(strdup(node.type)), version: Int32(node.version),
            flags: node.sideEffects ? UInt32(TC_NODE_SIDE_EFFECTS) : 0,
            doc: UnsafePointer(strdup(node.doc)),
            n_inputs: Int32(node.inputs.count), inputs: UnsafePointer(ports(node.inputs)),
            n_outputs: Int32(node.outputs.count), outputs: UnsafePointer(ports(node.outputs)),
            n_params: Int32(node.params.count), params: UnsafePointer(params),
            run: runTrampoline, user_data: box))
        return desc
    }

    final class NodeBox {
        let node: NodeDefinition
        init(_ node: NodeDefinition) { self.node = node }
    }

    /// The one C `run` of every Swift node: finds the definition through `user_data`, runs it,
    /// and turns Swift errors into the ABI's status and error message.
    private static let runTrampoline: @convention(c) (UnsafePointer<tc_run_context>) -> tc_status = { ctx in
        guard let user = ctx.pointee.node.pointee.user_data else { return tc_status(TC_ERROR) }
        let node = Unmanaged<NodeBox>.fromOpaque(user).takeUnretainedValue().node
        let context = NodeContext(node, ctx)
        let host = ctx.pointee.host.pointee
        // Each plugin links its own TCCore, so its block cache is its own: what a node kept for
        // reuse goes back to the system when it finishes, not when the process ends.
        defer { BlockCache.shared.trim() }
        do {
            try node.run(context)
            return tc_status(TC_OK)
        } catch is NodeCancelled {
            return tc_status(TC_CANCELLED)
        } catch is ReportedByHost {
            return tc_status(TC_ERROR)
        } catch {
            host.set_error(ctx.pointee.call, "\(error)")
            return tc_status(TC_ERROR)
        }
    }
}
