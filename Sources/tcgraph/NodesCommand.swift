import ArgumentParser
import TCGraph

struct NodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "List the node types of the loaded plugins, or document one: ports, parameters.")

    @Argument(help: "A node type to document in full.")
    var type: String?

    @OptionGroup var plugins: PluginOptions

    func run() throws {
        try Failure.guarded {
            let registry = try plugins.registry()
            guard let name = type else {
                if registry.types.isEmpty { print("no plugins found (search path: \(PluginLoader.searchPath(explicit: plugins.plugins).joined(separator: ":")))") }
                let width = registry.types.keys.map(\.count).max() ?? 0
                for t in registry.sortedTypes {
                    print("\(t.type.padding(toLength: width, withPad: " ", startingAt: 0))  \(t.summary)")
                }
                return
            }
            guard let t = registry[name] else {
                Failure.report("tcgraph: error: unknown node type '\(name)' (known: \(registry.sortedTypes.map(\.type).joined(separator: ", ")))")
                throw ExitStatus.usage
            }
            print(NodeDoc.render(t))
        }
    }
}

/// The text of `tcgraph nodes TYPE`, generated from the descriptor.
enum NodeDoc {
    static func render(_ t: NodeType) -> String {
        var out = "\(t.type) (version \(t.version)\(t.sideEffects ? ", writes files: always runs" : ""))\n"
        out += t.doc.split(separator: "\n", omittingEmptySubsequences: false).map { "  \($0)" }.joined(separator: "\n") + "\n"
        func ports(_ title: String, _ ps: [NodeType.PortSpec]) {
            guard !ps.isEmpty else { return }
            out += "\n\(title):\n"
            for p in ps { out += "  \(p.name)  \(p.kindName)\(p.optional ? " (optional)" : "")  \(p.doc)\n" }
        }
        ports("Inputs", t.inputs)
        ports("Outputs", t.outputs)
        if !t.params.isEmpty {
            out += "\nParameters:\n"
            for p in t.params {
                var facts = [p.kind == .choice ? p.choices.joined(separator: "|") : p.kind.name]
                if p.required { facts.append("required") }
                if let d = p.defaultText { facts.append("default \(d.isEmpty ? "\"\"" : d)") }
                func fmt(_ x: Double) -> String { p.kind == .int ? "\(Int(x))" : "\(x)" }
                if let lo = p.min, let hi = p.max { facts.append("\(fmt(lo))…\(fmt(hi))") } else if let lo = p.min { facts.append("≥ \(fmt(lo))") } else if let hi = p.max { facts.append("≤ \(fmt(hi))") }
                out += "  \(p.name)  (\(facts.joined(separator: ", ")))\n      \(p.doc)\n"
            }
        }
        out += "\nProvided by \(t.file)"
        return out
    }
}
