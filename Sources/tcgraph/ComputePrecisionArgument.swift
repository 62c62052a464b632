import ArgumentParser
import TCCore

/// `--precision f32|bf16` (and any other option of that type) parses straight into the switch.
extension ComputePrecision: ExpressibleByArgument {}
