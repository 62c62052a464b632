import ArgumentParser
import Foundation
import TCGraph

/// Options shared by the commands that load plugins.
struct PluginOptions: ParsableArguments {
    @Option(name: .customLong("plugins"), help: ArgumentHelp(
        "A plugin folder or library file, searched before $TCGRAPH_PLUGIN_PATH and the executable's folder (repeatable).",
        valueName: "DIR"))
    var plugins: [String] = []

    func registry() throws -> NodeRegistry {
        try NodeRegistry(searchPath: PluginLoader.searchPath(explicit: plugins))
    }
}

/// Renders an engine error once, on stderr, and maps it to its documented exit code.
enum Failure {
    static func exit(_ error: Error) -> ExitCode {
        switch error {
        case let e as ExitCode:
            return e
        case let e as GraphError:
            report(e.description)
            return ExitStatus.invalidGraph
        case let e as PluginError:
            report("tcgraph: error: plugin \(e)")
            return ExitStatus.pluginLoad
        case let e as RunError:
            if case .cancelled = e {
                report("tcgraph: \(e)")
                return ExitStatus.cancelled
            }
            report("tcgraph: error: \(e)")
            return ExitStatus.runtime
        default:
            report("tcgraph: error: \(error)")
            return ExitStatus.runtime
        }
    }

    static func report(_ text: String) {
        FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
    }

    /// Runs `body`, turning any error into its message and exit code.
    static func guarded(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            throw exit(error)
        }
    }
}

/// Reads a graph file, applies `--set` overrides (a missing file or a bad override is a usage
/// error) and validates it.
func loadGraph(_ path: String, assignments: [String], registry: NodeRegistry) throws -> Graph {
    guard FileManager.default.fileExists(atPath: path) else {
        Failure.report("tcgraph: error: \(path): no such graph file")
        throw ExitStatus.usage
    }
    var document = try GraphDocument(contentsOf: path)
    do {
        try document.override(assignments)
    } catch let e as GraphError {
        Failure.report(e.diagnostics.map { "tcgraph: error: \($0.message)" }.joined(separator: "\n"))
        throw ExitStatus.usage
    }
    return try Graph(document: document, registry: registry)
}
