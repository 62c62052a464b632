/// The tcgraph release: printed by `tcgraph --version`, written into output file headers.
public enum TCGraphVersion {
    public static let string = "0.1.0"
}
