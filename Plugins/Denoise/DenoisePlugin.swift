import TCPluginKit

/// The plugin library's one export (tcgraph_abi.h).
@_cdecl("tcgraph_plugin_entry")
public func tcgraphPluginEntry() -> UnsafeRawPointer {
    Plugin.export(name: "Denoise", version: "1.0", nodes: [DenoiseNode.definition])
}
