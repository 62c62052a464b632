import CTCABI
import Foundation
import TCCore

/// How a run is carried out: where outputs are cached (nil: no cache), where models are found,
/// who hears about progress.
public struct RunOptions {
    public var cache: OutputCache?
    public var weights: WeightStore
    public var observer: RunObserver

    public init(cache: OutputCache?, weights: WeightStore, observer: RunObserver) {
        self.cache = cache
        self.weights = weights
        self.observer = observer
    }
}

/// What a run did, in order, and the outputs of the graph's terminal nodes.
public struct RunReport {
    public enum Outcome: Sendable, Equatable { case ran, cached }
    public var steps: [(node: String, outcome: Outcome)] = []
    /// Outputs of nodes nobody consumes, by node id (port values in descriptor order).
    public var outputs: [String: [PortValue]] = [:]

    public var ran: [String] { steps.filter { $0.outcome == .ran }.map(\.node) }
    public var cached: [String] { steps.filter { $0.outcome == .cached }.map(\.node) }
}

/// Runs a validated graph in topological order. Each node's output is cached under a key hashed
/// from (type, version, parameters, the keys of its inputs, the identity of the files it reads),
/// so a key changes exactly when something upstream changed. Nodes whose outputs nobody needs
/// (all consumers are cache hits) are not run at all; nodes with side effects always run.
public final class Executor {
    public let graph: Graph
    public let options: RunOptions
    /// Cache key of each node, in `graph.nodes` order.
    public let keys: [String]
    private let runInfo: [String: UnsafeMutablePointer<CChar>]

    public init(graph: Graph, options: RunOptions) {
        self.graph = graph
        self.options = options
        var keys: [String] = []
        for node in graph.nodes {
            var h = ContentHash()
            h.add("tcgraph-node-v1")
            h.add(node.type.type)
            h.add(node.type.version)
            for (spec, value) in zip(node.type.params, node.params) {
                h.add(spec.name)
                h.add(value.canonical)
                if spec.readsFiles, case let .string(path) = value { h.add(FileIdentity.describe(path)) }
            }
            for (port, c) in zip(node.type.inputs, node.inputs) {
                h.add(port.name)
                h.add(c.map { "\(keys[$0.node])#\($0.output)" } ?? "-")
            }
            keys.append(h.hex)
        }
        self.keys = keys
        let file = URL(fileURLWithPath: graph.file).standardizedFileURL.path
        runInfo = ["graph": strdup(graph.name)!, "graph_file": strdup(file)!, "version": strdup(TCGraphVersion.string)!]
    }

    deinit { runInfo.values.forEach { free($0) } }

    /// Runs the graph. Throws `RunError` (a node failed, or cancellation).
    public func run() throws -> RunReport {
        let nodes = graph.nodes
        let n = nodes.count
        var consumers = [[Int]](repeating: [], count: n)
        for (i, node) in nodes.enumerated() {
            for c in node.inputs.compactMap({ $0 }) where !consumers[c.node].contains(i) { consumers[c.node].append(i) }
        }
        let terminal = (0..<n).map { consumers[$0].isEmpty }

        // Decide backwards what runs, what loads from the cache, and what is not needed.
        // Cache entries are mapped here already, so an unreadable one turns into a run in time.
        enum Plan { case skip, load, run }
        var plan = [Plan](repeating: .skip, count: n)
        var values = [[PortValue]?](repeating: nil, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            let demanded = terminal[i] || nodes[i].type.sideEffects || consumers[i].contains { plan[$0] == .run }
            guard demanded else { continue }
            if !nodes[i].type.sideEffects, let hit = options.cache?.load(keys[i], ports: nodes[i].type.outputs.map(\.name)) {
                values[i] = hit
                plan[i] = .load
            } else {
                plan[i] = .run
            }
        }

        var report = RunReport()
        var pending = consumers.map { Set($0.filter { plan[$0] == .run }) }
        let steps = plan.filter { $0 != .skip }.count
        var step = 0
        for i in 0..<n where plan[i] != .skip {
            let node = nodes[i]
            if Cancellation.isRequested { throw RunError.cancelled(node: nil) }
            step += 1
            options.observer.nodeStarted(node.id, type: node.type.type, step: step, of: steps)
            let start = Date()
            var outcome = RunReport.Outcome.cached
            if plan[i] == .run {
                let inputs = node.inputs.map { c in c.map { HostBundle(values[$0.node]![$0.output]) } }
                values[i] = try execute(node, inputs: inputs)
                outcome = .ran
                if !node.type.sideEffects, let cache = options.cache {
                    do {
                        try cache.store(keys[i], ports: node.type.outputs.map(\.name), values: values[i]!)
                    } catch {
                        options.observer.nodeLog(node.id, level: 2, message: "could not cache the outputs: \(error)")
                    }
                }
            }
            options.observer.nodeFinished(node.id, seconds: Date().timeIntervalSince(start), cached: outcome == .cached)
            report.steps.append((node.id, outcome))
            if terminal[i] { report.outputs[node.id] = values[i] }
            // Free inputs nobody else will read.
            for c in node.inputs.compactMap({ $0 }) {
                pending[c.node].remove(i)
                if pending[c.node].isEmpty && !terminal[c.node] { values[c.node] = nil }
            }
        }
        return report
    }

    private func execute(_ node: Graph.Node, inputs: [HostBundle?]) throws -> [PortValue] {
        let t = node.type
        let call = CallContext(node: node.id, observer: options.observer, weights: options.weights, runInfo: runInfo)
        let outputs = t.outputs.map { _ in HostBundle() }

        var strings: [UnsafeMutablePointer<CChar>] = []
        defer { strings.forEach { free($0) } }
        func c(_ s: String) -> UnsafePointer<CChar> {
            let p = strdup(s)!
            strings.append(p)
            return UnsafePointer(p)
        }
        let params = UnsafeMutablePointer<tc_value>.allocate(capacity: max(1, t.params.count))
        let ins = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: max(1, inputs.count))
        let outs = UnsafeMutablePointer<OpaquePointer>.allocate(capacity: max(1, outputs.count))
        defer { params.deallocate(); ins.deallocate(); outs.deallocate() }
        for (k, (spec, v)) in zip(t.params, node.params).enumerated() {
            var value = tc_value(is_set: 1, type: spec.kind.rawValue, i: 0, f: 0, s: nil)
            switch v {
            case .unset: value.is_set = 0
            case let .int(x): value.i = Int64(x)
            case let .float(x): value.f = x
            case let .bool(x): value.i = x ? 1 : 0
            case let .string(s):
                value.s = c(s)
                if spec.kind == .choice { value.i = Int64(spec.choices.firstIndex(of: s) ?? -1) }
            }
            (params + k).initialize(to: value)
        }
        for (k, b) in inputs.enumerated() { (ins + k).initialize(to: b?.opaque) }
        for (k, b) in outputs.enumerated() { (outs + k).initialize(to: b.opaque) }

        var ctx = tc_run_context(host: UnsafePointer(HostServices.table), call: call.opaque, node: t.descriptor,
                                 node_name: c(node.id), params: params, inputs: ins, outputs: outs)
        let status = withExtendedLifetime((inputs, outputs, call)) { t.descriptor.pointee.run(&ctx) }
        switch Int(status) {
        case Int(TC_OK):
            break
        case Int(TC_CANCELLED):
            throw RunError.cancelled(node: node.id)
        default:
            if Cancellation.isRequested && call.error == nil { throw RunError.cancelled(node: node.id) }
            throw RunError.nodeFailed(node: node.id, type: t.type, message: call.error ?? "failed without a message (status \(status))")
        }
        let values = outputs.map(\.value)
        for (port, value) in zip(t.outputs, values) {
            if let problem = PortContract.check(port.kind, value) {
                throw RunError.nodeFailed(node: node.id, type: t.type, message: "output '\(port.name)' (\(port.kindName)): \(problem)")
            }
        }
        return values
    }
}

/// The tensor contracts of the port kinds in tcgraph_abi.h, checked on every node output so a
/// faulty plugin is caught where it fails, not downstream.
enum PortContract {
    static func check(_ kind: Int32, _ v: PortValue) -> String? {
        func frames(_ name: String, channels: Set<Int>) -> String? {
            guard let t = v[name] else { return "missing tensor '\(name)' (has: \(v.tensors.map(\.name).joined(separator: ", ")))" }
            guard t.dtype == .f32, t.rank == 4, channels.contains(t.shape[3]) else {
                return "tensor '\(name)' must be f32 [T,H,W,C] with C in \(channels.sorted()), got \(t.dtype) \(t.shape)"
            }
            return nil
        }
        switch kind {
        case Int32(TC_KIND_IMAGE.rawValue):
            if let p = frames("images", channels: [3, 4]) { return p }
            guard let cs = v.meta["colorspace"], ["srgb", "linear"].contains(cs) else {
                return "metadata 'colorspace' must be srgb or linear, got \(v.meta["colorspace"].map { "'\($0)'" } ?? "none")"
            }
            return nil
        case Int32(TC_KIND_SKETCH.rawValue):
            return frames("sketch", channels: [1])
        case Int32(TC_KIND_LATENT.rawValue):
            guard let t = v["latents"] else { return "missing tensor 'latents'" }
            return t.dtype == .f32 && t.rank == 4 ? nil : "tensor 'latents' must be f32 [T,4,h,w], got \(t.dtype) \(t.shape)"
        default:
            return nil
        }
    }
}
