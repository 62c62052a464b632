import TCCore

/// Parity runners for fixtures (c) `unet_step` and (j) `unet_controlled_step`
/// (../shared/parity/README.md): the fixture's weights through the real loading code.
enum UNetParity {
    static func load(_ f: ParityFixture) throws -> DynamiCrafterUNet {
        try DynamiCrafterUNet.load(f.file, config: try UNetConfig(try f.config.dict("unet_config")))
    }

    static func unetStep(_ f: ParityFixture) throws -> [String: Tensor] {
        let unet = try load(f)
        var out: [String: Tensor] = [:]
        out["v"] = try unet(try f.input("xc"), timesteps: try f.input("timesteps").toInts(),
                            context: try f.input("context"), fs: try f.input("fs").toInts(),
                            tap: { out["debug.\($0)"] = $1 })
        return out
    }

    static func unetControlledStep(_ f: ParityFixture) throws -> [String: Tensor] {
        let unet = try load(f)
        let x = try f.input("xc"), t = try f.input("timesteps").toInts(), fs = try f.input("fs").toInts()
        let context = try unet.prepare(context: try f.input("context"), frames: x.dim(2))
        let control = try (0..<unet.controlCount).map { try f.input("control.\($0)") }
        var out: [String: Tensor] = [:]
        out["v"] = try unet(x, timesteps: t, context: context, fs: fs, control: control,
                            controlScale: try f.input("control_scale").scalar,
                            tap: { out["debug.\($0)"] = $1 })
        out["v_plain"] = try unet(x, timesteps: t, context: context, fs: fs)
        return out
    }
}
