import CTCABI
import Foundation
import TCCore

/// What `run` sees: typed parameters, input bundles, output slots, and the host's services.
public final class NodeContext {
    public let definition: NodeDefinition
    /// The node's id in the graph.
    public let nodeName: String
    let ctx: UnsafePointer<tc_run_context>
    var host: tc_host { ctx.pointee.host.pointee }
    var call: OpaquePointer { ctx.pointee.call }

    init(_ definition: NodeDefinition, _ ctx: UnsafePointer<tc_run_context>) {
        self.definition = definition
        self.ctx = ctx
        nodeName = String(cString: ctx.pointee.node_name)
    }

    // MARK: parameters

    func value(_ name: String, _ kinds: [Param.Kind]) throws -> tc_value? {
        guard let i = definition.params.firstIndex(where: { $0.name == name }) else {
            throw NodeError("node \(definition.type) reads undeclared parameter '\(name)'")
        }
        guard kinds.contains(definition.params[i].kind) else {
            throw NodeError("node \(definition.type) reads parameter '\(name)' of type \(definition.params[i].kind) as \(kinds)")
        }
        let v = ctx.pointee.params[i]
        return v.is_set != 0 ? v : nil
    }

    func unset(_ name: String) -> NodeError { NodeError("parameter '\(name)' is not set") }

    public func int(_ name: String) throws -> Int {
        guard let v = try value(name, [.int]) else { throw unset(name) }
        return Int(v.i)
    }

    public func optionalInt(_ name: String) throws -> Int? { try value(name, [.int]).map { Int($0.i) } }

    public func float(_ name: String) throws -> Double {
        guard let v = try value(name, [.float]) else { throw unset(name) }
        return v.f
    }

    public func optionalFloat(_ name: String) throws -> Double? { try value(name, [.float]).map(\.f) }

    public func bool(_ name: String) throws -> Bool {
        guard let v = try value(name, [.bool]) else { throw unset(name) }
        return v.i != 0
    }

    /// A string, path or choice parameter.
    public func string(_ name: String) throws -> String {
        guard let v = try optionalString(name) else { throw unset(name) }
        return v
    }

    public func optionalString(_ name: String) throws -> String? {
        try value(name, [.string, .path, .choice]).map { $0.s.map { String(cString: $0) } ?? "" }
    }

    // MARK: ports

    /// The bundle on input `port`; nil for an unconnected optional input.
    public func input(_ port: String) throws -> TensorBundle? {
        guard let i = definition.inputs.firstIndex(where: { $0.name == port }) else {
            throw NodeError("node \(definition.type) reads undeclared input '\(port)'")
        }
        guard let b = ctx.pointee.inputs[i] else { return nil }
        var bundle = TensorBundle()
        for t in 0..<host.bundle_tensor_count(b) {
            let name = String(cString: host.bundle_tensor_name(b, t))
            guard let handle = host.bundle_tensor(b, name), let shared = host.tensor_share(handle) else {
                throw NodeError("input '\(port)': the host could not share tensor '\(name)'")
            }
            bundle[name] = try TensorABI.adopt(shared)
        }
        for m in 0..<host.bundle_meta_count(b) {
            let key = String(cString: host.bundle_meta_key(b, m))
            if let v = host.bundle_meta(b, key) { bundle.meta[key] = String(cString: v) }
        }
        return bundle
    }

    public func requiredInput(_ port: String) throws -> TensorBundle {
        guard let b = try input(port) else { throw NodeError("input '\(port)' is not connected") }
        return b
    }

    /// Hands `bundle` to the host as the value of output `port` (tensors are not copied).
    public func setOutput(_ port: String, _ bundle: TensorBundle) throws {
        guard let i = definition.outputs.firstIndex(where: { $0.name == port }) else {
            throw NodeError("node \(definition.type) writes undeclared output '\(port)'")
        }
        let out = ctx.pointee.outputs[i]
        for (name, tensor) in bundle.tensors {
            if host.bundle_put_tensor(call, out, name, TensorABI.export(tensor)) != TC_OK {
                throw NodeError("output '\(port)': the host refused tensor '\(name)'")
            }
        }
        for (k, v) in bundle.meta.sorted(by: { $0.key < $1.key }) { host.bundle_put_meta(out, k, v) }
    }

    // MARK: services

    public enum LogLevel: Int32 { case debug = 0, info = 1, warning = 2, error = 3 }

    public func log(_ message: String, level: LogLevel = .info) {
        host.log(call, level.rawValue, message)
    }

    /// `done` of `total` units; the host draws the bar and the ETA.
    public func progress(_ done: Int, of total: Int, _ message: String = "") {
        host.progress(call, Int64(done), Int64(total), message)
    }

    public var isCancelled: Bool { host.cancelled(call) != 0 }

    /// Throws `NodeCancelled` once the user asked to stop; call it inside long loops.
    public func checkCancelled() throws {
        if isCancelled { throw NodeCancelled() }
    }

    /// "graph", "graph_file" or "version" (of tcgraph).
    public func runInfo(_ key: String) -> String? {
        host.run_info(call, key).map { String(cString: $0) }
    }

    /// The first existing weight file among `candidates` (absolute paths, or names looked up in the
    /// model folders), opened once per run by the host and shared by every node that asks.
    public func weights(_ candidates: [String], whereToGet: String) throws -> HostWeights {
        let cs = candidates.map { strdup($0)! }
        defer { cs.forEach { free($0) } }
        let ptrs = cs.map { UnsafePointer($0) }
        let handle = ptrs.withUnsafeBufferPointer { buf in
            host.weights_open(call, buf.baseAddress!, Int32(buf.count), whereToGet)
        }
        guard let handle else { throw ReportedByHost() }
        return HostWeights(host: ctx.pointee.host, call: call, handle: handle)
    }
}

/// An error whose message the host already holds (set through `set_error`).
struct ReportedByHost: Error {}
