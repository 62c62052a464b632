/// The tcgraph release, printed by `tcgraph --version`.
let tcgraphVersion = "0.1.0"
