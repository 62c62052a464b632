import ArgumentParser
import Foundation
import TCGraph

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Validate a graph, then run it.",
        discussion: "Node outputs are cached by a hash of (node type and version, parameters, inputs, input files), so a re-run recomputes only what changed. Ctrl-C stops cleanly (exit 130); a second Ctrl-C quits at once.")

    @Argument(help: "The graph file (YAML).")
    var graph: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a graph parameter (repeatable).", valueName: "name=value"))
    var assignments: [String] = []

    @Option(name: .customLong("models"), help: ArgumentHelp(
        "A folder with model files, searched before $TCGRAPH_MODELS and ~/.cache/tcgraph/models (repeatable).", valueName: "DIR"))
    var models: [String] = []

    @OptionGroup var plugins: PluginOptions

    @Option(name: .customLong("cache"), help: ArgumentHelp("The output cache folder (default ~/.cache/tcgraph/cache).", valueName: "DIR"))
    var cacheDir: String?

    @Flag(name: .customLong("no-cache"), help: "Neither read nor write cached node outputs.")
    var noCache = false

    @Flag(help: "Print only warnings and errors.")
    var quiet = false

    func run() throws {
        try Failure.guarded {
            Cancellation.installSignalHandlers()
            let graph = try loadGraph(graph, assignments: assignments, registry: plugins.registry())
            let reporter = ConsoleReporter.automatic(quiet: quiet)
            let options = RunOptions(
                cache: noCache ? nil : OutputCache(directory: cacheDir ?? OutputCache.defaultDirectory()),
                weights: WeightStore(folders: WeightStore.folders(explicit: models)),
                observer: reporter)
            let start = Date()
            let report = try Executor(graph: graph, options: options).run()
            if !quiet {
                Failure.report(String(format: "tcgraph: %@ finished in %.2fs (%d ran, %d cached)",
                                      graph.name, Date().timeIntervalSince(start), report.ran.count, report.cached.count))
            }
        }
    }
}
