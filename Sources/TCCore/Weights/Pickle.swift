import Foundation

/// A value produced by the restricted unpickler. Nothing here is ever executed: class and function
/// references are kept as names, and "calls" are interpreted by a `PickleEnvironment` that knows
/// only what a checkpoint needs.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer beyond 64 bits, as its little-endian two's-complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case set(PickleList)
    /// A whitelisted class or function, referenced by name and never called.
    case global(module: String, name: String)
    /// An inert stand-in for an instance of a whitelisted bookkeeping class.
    case object(PickleObject)
    case storage(TorchStorageRef)
    case tensor(TorchTensorRef)

    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .set: "set"
        case let .global(m, n): "\(m).\(n)"
        case let .object(o): "\(o.className) object"
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }

    /// Short human-readable form for reports (containers summarised).
    var summary: String {
        switch self {
        case .none: "None"
        case let .bool(b): b ? "True" : "False"
        case let .int(i): "\(i)"
        case .bigInt: "<big int>"
        case let .float(f): "\(f)"
        case let .string(s): s.count <= 60 ? "'\(s)'" : "'\(s.prefix(57))…'"
        case let .bytes(b): "<\(b.count) bytes>"
        case let .tuple(t): "tuple(\(t.count))"
        case let .list(l): "list(\(l.items.count))"
        case let .dict(d): "dict(\(d.items.count))"
        case let .set(s): "set(\(s.items.count))"
        case let .global(m, n): "\(m).\(n)"
        case let .object(o): "<\(o.className)>"
        case .storage: "<storage>"
        case let .tensor(t): "tensor \(t.size)"
        }
    }
}

final class PickleList {
    var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// Keys in insertion order; keys need not be hashable in Swift's sense (pickles allow tuples).
final class PickleDict {
    var items: [(key: PickleValue, value: PickleValue)] = []
    /// Instance attributes set by BUILD (e.g. a state dict's `_metadata`); kept, never interpreted.
    var attributes: PickleValue?

    func value(forKey key: String) -> PickleValue? {
        for (k, v) in items { if case let .string(s) = k, s == key { return v } }
        return nil
    }
}

final class PickleObject {
    let className: String
    init(className: String) { self.className = className }
}

struct PickleError: Error {
    /// Byte offset of the opcode in the pickle; −1 until the unpickler fills it in.
    let offset: Int
    let message: String
    /// A refused global (as opposed to a malformed stream).
    let forbidden: Bool

    init(offset: Int = -1, message: String, forbidden: Bool = false) {
        self.offset = offset
        self.message = message
        self.forbidden = forbidden
    }
}

/// What the unpickler may reference and how its REDUCE/NEWOBJ/persistent-id steps are interpreted.
protocol PickleEnvironment {
    /// The value a GLOBAL/STACK_GLOBAL names; throws (forbidden) for anything not whitelisted.
    func global(module: String, name: String) throws -> PickleValue
    func call(_ callable: PickleValue, _ args: [PickleValue]) throws -> PickleValue
    func persistentLoad(_ id: PickleValue) throws -> PickleValue
}

/// A pickle virtual machine for protocols 0–5 limited to the opcodes that plain data needs.
/// Out-of-band buffers, extension registries and protocol-0 text strings are refused.
struct Unpickler {
    let data: UnsafeRawBufferPointer
    let env: PickleEnvironment
    private var pos = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(data: UnsafeRawBufferPointer, env: PickleEnvironment) {
        self.data = data
        self.env = env
    }

    static let maxStack = 1 << 22

    mutating func load() throws -> PickleValue {
        while true {
            let at = pos
            let op = try byte()
            do {
                if let result = try step(op) { return result }
            } catch let e as PickleError {
                throw e.offset < 0 ? PickleError(offset: at, message: e.message, forbidden: e.forbidden) : e
            } catch {
                throw PickleError(offset: at, message: "\(error)", forbidden: false)
            }
            if stack.count > Unpickler.maxStack { throw fail("stack exceeds \(Unpickler.maxStack) items", at) }
        }
    }

    private func fail(_ message: String, _ at: Int? = nil) -> PickleError {
        PickleError(offset: at ?? pos, message: message, forbidden: false)
    }

    // MARK: reading

    private mutating func byte() throws -> UInt8 {
        guard pos < data.count else { throw fail("the pickle ends without a STOP opcode") }
        defer { pos += 1 }
        return data[pos]
    }

    private mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= data.count - pos else {
            throw fail("a \(n)-byte field runs past the end of the pickle (\(data.count - pos) bytes left)")
        }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: data[pos..<(pos + n)])
    }

    private mutating func uint(_ n: Int) throws -> Int {
        let b = try take(n)
        var v = 0
        for i in stride(from: n - 1, through: 0, by: -1) { v = v << 8 | Int(b[i]) }
        return v
    }

    private mutating func length(_ n: Int) throws -> Int {
        let b = try take(n)
        var v: UInt64 = 0
        for i in stride(from: n - 1, through: 0, by: -1) { v = v << 8 | UInt64(b[i]) }
        guard v <= UInt64(data.count) else { throw fail("length \(v) exceeds the pickle's \(data.count) bytes") }
        return Int(v)
    }

    private mutating func line() throws -> String {
        let start = pos
        while pos < data.count && data[pos] != 0x0A { pos += 1 }
        guard pos < data.count else { throw fail("unterminated text line") }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: data[start..<pos]), as: UTF8.self)
        pos += 1
        return s
    }

    private mutating func utf8(_ n: Int) throws -> String {
        let b = try take(n)
        guard let s = String(validating: b, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
        return s
    }

    // MARK: stack

    private mutating func push(_ v: PickleValue) { stack.append(v) }

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast(), stack.count >= (marks.last ?? 0) else { throw fail("stack underflow") }
        return v
    }

    private mutating func top() throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw fail("stack underflow") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("no MARK on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func memoize(_ index: Int) throws {
        memo[index] = try top()
    }

    private func fetch(_ index: Int) throws -> PickleValue {
        guard let v = memo[index] else { throw fail("memo entry \(index) was never stored") }
        return v
    }

    private func decodeLong(_ b: UnsafeRawBufferPointer) -> PickleValue {
        if b.isEmpty { return .int(0) }
        if b.count <= 8 {
            var v: UInt64 = 0
            for i in stride(from: b.count - 1, through: 0, by: -1) { v = v << 8 | UInt64(b[i]) }
            let shift = UInt64(64 - 8 * b.count)
            return .int(Int(truncatingIfNeeded: v << shift) >> Int(shift))
        }
        return .bigInt(Array(b))
    }

    // MARK: opcodes

    /// Executes one opcode; returns the result at STOP.
    private mutating func step(_ op: UInt8) throws -> PickleValue? {
        switch op {
        case 0x80: // PROTO
            let v = try byte()
            guard v <= 5 else { throw fail("unsupported pickle protocol \(v)") }
        case 0x95: // FRAME
            _ = try take(8)
        case 0x2E: // STOP
            let v = try pop()
            return v
        case 0x28: // MARK
            marks.append(stack.count)
        case 0x30: // POP
            if stack.count == (marks.last ?? 0), !marks.isEmpty { _ = marks.popLast() } else { _ = try pop() }
        case 0x31: // POP_MARK
            _ = try popMark()
        case 0x32: // DUP
            push(try top())
        case 0x4E: push(.none) // NONE
        case 0x88: push(.bool(true)) // NEWTRUE
        case 0x89: push(.bool(false)) // NEWFALSE
        case 0x4B: push(.int(try uint(1))) // BININT1
        case 0x4D: push(.int(try uint(2))) // BININT2
        case 0x4A: push(.int(Int(Int32(truncatingIfNeeded: try uint(4))))) // BININT
        case 0x8A: push(decodeLong(try take(try length(1)))) // LONG1
        case 0x8B: push(decodeLong(try take(try length(4)))) // LONG4
        case 0x49: // INT (text; "01"/"00" are True/False in protocol 0)
            let s = try line()
            if s == "01" { push(.bool(true)) } else if s == "00" { push(.bool(false)) } else {
                guard let v = Int(s) else { throw fail("bad INT literal '\(s)'") }
                push(.int(v))
            }
        case 0x4C: // LONG (text)
            var s = try line()
            if s.hasSuffix("L") { s.removeLast() }
            guard let v = Int(s) else { throw fail("LONG literal '\(s)' is out of range") }
            push(.int(v))
        case 0x47: // BINFLOAT (big-endian)
            let b = try take(8)
            var v: UInt64 = 0
            for i in 0..<8 { v = v << 8 | UInt64(b[i]) }
            push(.float(Double(bitPattern: v)))
        case 0x46: // FLOAT (text)
            let s = try line()
            guard let v = Double(s) else { throw fail("bad FLOAT literal '\(s)'") }
            push(.float(v))
        case 0x58: push(.string(try utf8(try length(4)))) // BINUNICODE
        case 0x8C: push(.string(try utf8(try length(1)))) // SHORT_BINUNICODE
        case 0x8D: push(.string(try utf8(try length(8)))) // BINUNICODE8
        case 0x54: push(.string(String(decoding: try take(try length(4)), as: UTF8.self))) // BINSTRING (py2 str)
        case 0x55: push(.string(String(decoding: try take(try length(1)), as: UTF8.self))) // SHORT_BINSTRING
        case 0x42: push(.bytes(Array(try take(try length(4))))) // BINBYTES
        case 0x43: push(.bytes(Array(try take(try length(1))))) // SHORT_BINBYTES
        case 0x8E: push(.bytes(Array(try take(try length(8))))) // BINBYTES8
        case 0x96: push(.bytes(Array(try take(try length(8))))) // BYTEARRAY8
        case 0x29: push(.tuple([])) // EMPTY_TUPLE
        case 0x85: push(.tuple([try pop()])) // TUPLE1
        case 0x86: // TUPLE2
            let b = try pop(), a = try pop()
            push(.tuple([a, b]))
        case 0x87: // TUPLE3
            let c = try pop(), b = try pop(), a = try pop()
            push(.tuple([a, b, c]))
        case 0x74: push(.tuple(try popMark())) // TUPLE
        case 0x5D: push(.list(PickleList())) // EMPTY_LIST
        case 0x6C: push(.list(PickleList(try popMark()))) // LIST
        case 0x7D: push(.dict(PickleDict())) // EMPTY_DICT
        case 0x64: // DICT
            let items = try popMark()
            guard items.count % 2 == 0 else { throw fail("DICT with an odd number of items") }
            let d = PickleDict()
            for i in stride(from: 0, to: items.count, by: 2) { d.items.append((items[i], items[i + 1])) }
            push(.dict(d))
        case 0x8F: push(.set(PickleList())) // EMPTY_SET
        case 0x91: push(.set(PickleList(try popMark()))) // FROZENSET
        case 0x61: // APPEND
            let v = try pop()
            try append([v], to: try top())
        case 0x65, 0x90: // APPENDS, ADDITEMS
            let items = try popMark()
            try append(items, to: try top())
        case 0x73: // SETITEM
            let v = try pop(), k = try pop()
            try setItems([k, v], on: try top())
        case 0x75: // SETITEMS
            let items = try popMark()
            guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items") }
            try setItems(items, on: try top())
        case 0x71: try memoize(try uint(1)) // BINPUT
        case 0x72: try memoize(try uint(4)) // LONG_BINPUT
        case 0x94: try memoize(memo.count) // MEMOIZE
        case 0x70: // PUT (text)
            guard let i = Int(try line()) else { throw fail("bad PUT index") }
            try memoize(i)
        case 0x68: push(try fetch(try uint(1))) // BINGET
        case 0x6A: push(try fetch(try uint(4))) // LONG_BINGET
        case 0x67: // GET (text)
            guard let i = Int(try line()) else { throw fail("bad GET index") }
            push(try fetch(i))
        case 0x63: // GLOBAL
            let module = try line(), name = try line()
            push(try env.global(module: module, name: name))
        case 0x93: // STACK_GLOBAL
            let n = try pop(), m = try pop()
            guard case let .string(module) = m, case let .string(name) = n else {
                throw fail("STACK_GLOBAL needs two strings, got \(m.kind) and \(n.kind)")
            }
            push(try env.global(module: module, name: name))
        case 0x52: // REDUCE
            let args = try pop(), callable = try pop()
            guard case let .tuple(a) = args else { throw fail("REDUCE arguments are a \(args.kind), not a tuple") }
            push(try env.call(callable, a))
        case 0x81: // NEWOBJ
            let args = try pop(), cls = try pop()
            guard case let .tuple(a) = args else { throw fail("NEWOBJ arguments are a \(args.kind), not a tuple") }
            push(try env.call(cls, a))
        case 0x92: // NEWOBJ_EX
            _ = try pop()
            let args = try pop(), cls = try pop()
            guard case let .tuple(a) = args else { throw fail("NEWOBJ_EX arguments are a \(args.kind), not a tuple") }
            push(try env.call(cls, a))
        case 0x6F: // OBJ
            var items = try popMark()
            guard !items.isEmpty else { throw fail("OBJ without a class") }
            let cls = items.removeFirst()
            push(try env.call(cls, items))
        case 0x69: // INST
            let module = try line(), name = try line()
            let cls = try env.global(module: module, name: name)
            push(try env.call(cls, try popMark()))
        case 0x62: // BUILD
            let state = try pop()
            try build(try top(), state)
        case 0x51: // BINPERSID
            push(try env.persistentLoad(try pop()))
        case 0x50: // PERSID
            push(try env.persistentLoad(.string(try line())))
        default:
            let names: [UInt8: String] = [
                0x53: "STRING", 0x56: "UNICODE", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
                0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
            ]
            let name = names[op].map { "\($0) (0x\(String(op, radix: 16)))" } ?? "0x\(String(op, radix: 16))"
            throw fail("unsupported pickle opcode \(name)", pos - 1)
        }
        return nil
    }

    private func append(_ items: [PickleValue], to target: PickleValue) throws {
        switch target {
        case let .list(l), let .set(l): l.items.append(contentsOf: items)
        case .object: break
        default: throw fail("APPEND to a \(target.kind)")
        }
    }

    private func setItems(_ kv: [PickleValue], on target: PickleValue) throws {
        switch target {
        case let .dict(d):
            for i in stride(from: 0, to: kv.count, by: 2) { d.items.append((kv[i], kv[i + 1])) }
        case .object: break
        default: throw fail("SETITEM on a \(target.kind)")
        }
    }

    private func build(_ target: PickleValue, _ state: PickleValue) throws {
        switch target {
        case let .dict(d): d.attributes = state
        case .object, .tensor: break
        default: throw fail("BUILD on a \(target.kind)")
        }
    }
}
