import ArgumentParser
import TCCore
import TCGraph

/// The `tcgraph` root command. Subcommands are registered in ONE place: the list below, one line
/// each, each command in its own `<Name>Command.swift` file of this folder.
@main
struct TCGraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcgraph",
        abstract: "Generative cartoon interpolation as a plugin-based node graph.",
        discussion: ExitStatus.help,
        version: TCGraphVersion.string,
        subcommands: [
            RunCommand.self,
            ValidateCommand.self,
            NodesCommand.self,
            ParityCommand.self,
            WeightsCommand.self,
            BenchCommand.self,
        ]
    )

    static func main() {
        // Before any work: picking OpenBLAS's kernels means starting again with another environment.
        OpenBLASTuning.applyProcessDefault()
        main(nil)
    }
}
