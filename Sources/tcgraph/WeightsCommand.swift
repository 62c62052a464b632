import ArgumentParser
import Foundation
import TCCore

/// `tcgraph weights …`: look inside weight files and convert them (DESIGN §5).
struct WeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "Inspect and convert weight files (safetensors, PyTorch zip checkpoints).",
        subcommands: [Inspect.self, Convert.self]
    )

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tensors, dtypes and parameter counts per prefix; check them against a manifest.",
            discussion: """
                Files are recognised by content. A model assembled from several files is inspected as one \
                with --mount, e.g. the pruned fp16 UNet file plus open_clip's weights:
                  tcgraph weights inspect unet-fp16.safetensors \\
                    --mount cond_stage_model.model.=open_clip_pytorch_model.bin \\
                    --mount embedder.model.=open_clip_pytorch_model.bin \\
                    --expect ../shared/parity/full_config_manifest.json
                With --expect, exits 1 unless every key the pipeline reads is present with the expected \
                shape and no unexpected key exists.
                """
        )

        @Argument(help: "The weight file.")
        var file: String

        @Option(name: .long, help: "PREFIX=FILE: serve keys under PREFIX from FILE (keys there lack PREFIX). Repeatable.")
        var mount: [String] = []

        @Option(name: .long, help: "A manifest JSON ({\"keys\": {key: {\"shape\": […]}}}) to compare against.")
        var expect: String?

        @Option(name: .long, help: "Key components per prefix group.")
        var depth = 2

        @Flag(name: .long, help: "List every key with its dtype and shape.")
        var keys = false

        func run() throws {
            let source: TensorSource
            let inspection: WeightInspection
            do {
                source = try openSources(file, mount)
                inspection = try WeightInspection(source)
            } catch {
                printError(error)
                throw ExitStatus.runtime
            }
            print(source.sourceName)
            print("  format: \(describe(source))")
            let dtypes = inspection.dtypes.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            print("  tensors: \(inspection.items.count), parameters: \(grouped(inspection.elements)) (\(bytes(inspection))), dtypes: \(dtypes)")
            print("  " + pad("prefix", 44) + lpad("tensors", 8) + lpad("parameters", 17) + "  dtypes")
            for g in inspection.groups(depth: max(1, depth)) {
                let d = g.dtypes.sorted { $0.key < $1.key }.map { g.dtypes.count == 1 ? $0.key : "\($0.key)×\($0.value)" }
                print("  " + pad(g.prefix, 44) + lpad("\(g.tensors)", 8) + lpad(grouped(g.elements), 17) + "  " + d.joined(separator: " "))
            }
            if keys {
                for it in inspection.items { print("  \(it.key)  \(it.dtype) \(it.shape)") }
            }
            guard let expect else { return }
            let manifest: WeightManifest
            do { manifest = try WeightManifest(path: expect) } catch {
                printError(error)
                throw ExitStatus.runtime
            }
            let c = ManifestComparison(inspection, manifest)
            print("expected layout \(expect): \(manifest.keys.count) keys")
            list("missing, read by the pipeline", c.missingUsed)
            list("missing, never read (may be dropped)", c.missingUnused)
            list("unexpected", c.unexpected)
            print("  shape mismatches: \(c.shapeMismatches.count)")
            for m in c.shapeMismatches.prefix(20) { print("    \(m.key): \(m.got), expected \(m.expected)") }
            print("  verdict: " + (c.isLoadable ? "OK — every key the pipeline reads is present with its shape"
                                               : "NOT LOADABLE as the reference model"))
            if !c.isLoadable { throw ExitCode.failure }
        }

        private func list(_ what: String, _ keys: [String]) {
            print("  \(what): \(keys.count)")
            for k in keys.prefix(12) { print("    \(k)") }
            if keys.count > 12 { print("    … \(keys.count - 12) more") }
        }

        private func describe(_ s: TensorSource) -> String {
            if let c = s as? TorchCheckpoint {
                let book = c.bookkeeping.prefix(6).map { "\($0.key)=\($0.summary)" }.joined(separator: ", ")
                return "PyTorch zip checkpoint, tensors from \(c.layout)" + (book.isEmpty ? "" : "; also: \(book)")
            }
            if let f = s as? SafeTensorsFile {
                return "safetensors" + (f.metadata.isEmpty ? "" : ", metadata keys: \(f.metadata.keys.sorted().joined(separator: ", "))")
            }
            if let c = s as? CompositeTensorSource {
                return "composite: " + c.mounts.reversed().map { "'\($0.prefix)' ← \($0.source.sourceName)" }.joined(separator: "; ")
            }
            return "key-renamed view"
        }

        private func bytes(_ i: WeightInspection) -> String {
            let n = i.items.reduce(0) { $0 + $1.elements * (DType(rawValue: $1.dtype)?.byteSize ?? 0) }
            let (v, unit) = n >= 1_000_000_000 ? (Double(n) / 1e9, "GB") : n >= 1_000_000 ? (Double(n) / 1e6, "MB") : (Double(n) / 1e3, "kB")
            return String(format: "%.2f %@ as stored", v, unit)
        }
    }

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a weight file to safetensors (float tensors to one dtype), once, for fast mmapped loading.",
            discussion: """
                Tensors are streamed one at a time and written to a temporary file that replaces OUT only \
                when complete. Integer tensors keep their dtype. Keys are kept as the reader presents them \
                (state dict unwrapped, legacy names renamed).
                """
        )

        @Argument(help: "Input weight file (safetensors or PyTorch zip checkpoint).")
        var input: String

        @Argument(help: "Output .safetensors file.")
        var output: String

        @Option(name: .long, help: "Float dtype of the output: f16, bf16 or f32.")
        var dtype: String

        @Option(name: .long, help: "Keep only keys starting with this prefix (repeatable).")
        var prefix: [String] = []

        func validate() throws {
            guard ["f16", "bf16", "f32"].contains(dtype) else {
                throw ValidationError("--dtype must be f16, bf16 or f32, got '\(dtype)'")
            }
            let a = URL(fileURLWithPath: input).standardizedFileURL.path
            let b = URL(fileURLWithPath: output).standardizedFileURL.path
            guard a != b else { throw ValidationError("the output would overwrite the input \(input)") }
        }

        func run() throws {
            let target = DType(rawValue: dtype)!
            do {
                let source = try openWeightFile(input)
                let keys = source.allKeys.filter { k in prefix.isEmpty || prefix.contains { k.hasPrefix($0) } }
                guard !keys.isEmpty else {
                    throw WeightError.missingKeys(file: input, keys: prefix.map { $0 + "*" })
                }
                var elements = 0
                let entries: [SafeTensorsEntry] = try keys.map { key in
                    let t = try source.tensor(key)
                    elements += t.count
                    let out = [.f32, .f16, .bf16, .f64].contains(t.dtype) ? target : t.dtype
                    return SafeTensorsEntry(key: key, dtype: out, shape: t.shape) { try source.tensor(key) }
                }
                let meta = ["format": "pt", "tcgraph.converted_from": URL(fileURLWithPath: input).lastPathComponent,
                            "tcgraph.dtype": dtype]
                let report = try writeSafeTensors(entries, to: output, metadata: meta)
                print("\(output): \(keys.count) tensors, \(grouped(elements)) parameters, \(grouped(report.bytes)) bytes")
                for o in report.overflowed {
                    print("warning: \(o.key): \(o.count) values exceed the range of \(dtype) and became ±inf")
                }
            } catch {
                printError(error)
                throw ExitStatus.runtime
            }
        }
    }
}

/// A file, or several combined by PREFIX=FILE mounts over the first one.
private func openSources(_ file: String, _ mounts: [String]) throws -> TensorSource {
    let base = try openWeightFile(file)
    if mounts.isEmpty { return base }
    var opened: [String: TensorSource] = [:]
    var list = [CompositeTensorSource.Mount(prefix: "", source: base)]
    for m in mounts {
        guard let eq = m.firstIndex(of: "=") else { throw ValidationError("--mount expects PREFIX=FILE, got '\(m)'") }
        let path = String(m[m.index(after: eq)...])
        let src = try opened[path] ?? openWeightFile(path)
        opened[path] = src
        list.append(.init(prefix: String(m[..<eq]), source: src))
    }
    return CompositeTensorSource(list)
}

private func printError(_ error: Error) {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
}

private func grouped(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, c) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return out
}

private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
private func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s }
