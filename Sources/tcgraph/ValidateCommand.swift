import ArgumentParser
import TCGraph

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a graph without running anything (exit 0 when valid, 65 otherwise).")

    @Argument(help: "The graph file (YAML).")
    var graph: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a graph parameter (repeatable).", valueName: "name=value"))
    var assignments: [String] = []

    @OptionGroup var plugins: PluginOptions

    func run() throws {
        try Failure.guarded {
            let g = try loadGraph(graph, assignments: assignments, registry: plugins.registry())
            print("\(graph): valid, \(g.nodes.count) nodes: \(g.nodes.map(\.id).joined(separator: " → "))")
        }
    }
}
