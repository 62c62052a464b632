import ArgumentParser

/// The process exit codes, documented in `tcgraph --help` and the README.
enum ExitStatus {
    /// Bad command line (ArgumentParser's own code for usage errors).
    static let usage = ExitCode(64)
    /// The graph file is malformed or does not validate against the node descriptors.
    static let invalidGraph = ExitCode(65)
    /// A plugin library could not be loaded (dlopen failure, ABI mismatch, duplicate node type).
    static let pluginLoad = ExitCode(66)
    /// A node failed while running (bad input file, unwritable output, missing model, …).
    static let runtime = ExitCode(70)
    /// Stopped by Ctrl-C (SIGINT) or SIGTERM; nothing partial was written.
    static let cancelled = ExitCode(130)

    static let help = """
        EXIT CODES
          0    success
          64   usage error (bad command line, no such graph file)
          65   invalid graph (YAML, unknown node/param/port, kind mismatch, cycle)
          66   plugin load failure (dlopen, ABI version mismatch, duplicate type)
          70   a node failed (unreadable input, unwritable output, missing model)
          130  cancelled (Ctrl-C); no partial outputs are left behind
        """
}
