import Foundation

/// A PyTorch zip checkpoint (`torch.save`: `<archive>/data.pkl` + `<archive>/data/<key>` storages)
/// opened by mmap. The pickle is read by a restricted unpickler that executes nothing and accepts
/// only the globals a state dict needs (plus inert Lightning/DeepSpeed bookkeeping outside the
/// state dict); tensors are zero-copy views of the mapped storages.
///
/// Layouts (spec §3.1, DESIGN §5): a Lightning `{"state_dict": …}`, a DeepSpeed `{"module": …}`
/// whose keys carry `_forward_module.`, or a bare state dict. The legacy `framestride_embed` is
/// renamed `fps_embedding` as the reference loader does.
public final class TorchCheckpoint: TensorSource {
    public struct Entry: Sendable {
        /// Nil for storage types tcgraph does not compute with (bool, int8, int16, complex).
        public let dtype: DType?
        /// The storage class, e.g. `FloatStorage`.
        public let storageType: String
        public let shape: [Int]
        public let strides: [Int]
        /// Element offset into the storage.
        public let offset: Int
        public let storageKey: String
    }

    public let path: String
    /// Where the tensors were found: "state_dict", "module (DeepSpeed)" or "top level".
    public let layout: String
    /// State-dict keys in file order (after the layout's renames).
    public let keys: [String]
    public let entries: [String: Entry]
    /// Top-level entries outside the state dict (Lightning bookkeeping), summarised.
    public let bookkeeping: [(key: String, summary: String)]
    private let archive: ZipArchive
    private let storages: [String: ZipArchive.Entry]

    public init(path: String) throws {
        self.path = path
        let mapping = try MappedFile(path: path)
        archive = try ZipArchive(path: path, mapping: mapping)
        let pickles = archive.names.filter { $0.hasSuffix("data.pkl") && $0.split(separator: "/").count == 2 }
        guard pickles.count == 1, let pkl = archive.entries[pickles[0]] else {
            throw WeightError.corrupt(file: path, reason: "not a torch.save archive: expected one <archive>/data.pkl, found \(pickles.count)")
        }
        let root = String(pkl.name.dropLast("data.pkl".count))
        if let order = archive.entries[root + "byteorder"] {
            let text = String(decoding: archive.bytes(order), as: UTF8.self)
            guard text == "little" else { throw WeightError.corrupt(file: path, reason: "byte order '\(text)' (only little-endian is supported)") }
        }
        let env = CheckpointEnvironment(archive: archive, root: root)
        let top: PickleValue
        do {
            var unpickler = Unpickler(data: archive.bytes(pkl), env: env)
            top = try unpickler.load()
        } catch let e as PickleError {
            let where_ = "\(pkl.name) byte \(e.offset)"
            throw e.forbidden ? WeightError.forbidden(file: path, reason: "\(where_): \(e.message)")
                : WeightError.corrupt(file: path, reason: "\(where_): \(e.message)")
        }

        guard case let .dict(topDict) = top else {
            throw WeightError.corrupt(file: path, reason: "the pickle holds a \(top.kind), not a dict")
        }
        let stateDict: PickleDict
        var stripPrefix = ""
        if case let .dict(sd)? = topDict.value(forKey: "state_dict") {
            stateDict = sd
            layout = "state_dict"
        } else if case let .dict(sd)? = topDict.value(forKey: "module") {
            stateDict = sd
            layout = "module (DeepSpeed)"
            stripPrefix = "_forward_module."
        } else if topDict.items.allSatisfy({ if case .tensor = $0.value { true } else { false } }) {
            stateDict = topDict
            layout = "top level"
        } else {
            let names = topDict.items.map { $0.key.summary }.prefix(12).joined(separator: ", ")
            throw WeightError.corrupt(file: path, reason: "no state dict: no 'state_dict' or 'module' entry and non-tensor values at the top level (\(names))")
        }
        let wrapper = stripPrefix.isEmpty ? "state_dict" : "module"
        bookkeeping = stateDict === topDict ? [] : topDict.items.compactMap { item in
            guard case let .string(k) = item.key, k != wrapper else { return nil }
            return (k, item.value.summary)
        }

        var entries: [String: Entry] = [:]
        var keys: [String] = []
        var used: [String: ZipArchive.Entry] = [:]
        for (k, v) in stateDict.items {
            guard case var .string(key) = k else {
                throw WeightError.corrupt(file: path, reason: "\(layout) has a \(k.kind) key; state-dict keys are strings")
            }
            guard case let .tensor(t) = v else {
                throw WeightError.corrupt(file: path, reason: "\(layout) entry '\(key)' is a \(v.kind), not a tensor")
            }
            if !stripPrefix.isEmpty && key.hasPrefix(stripPrefix) { key.removeFirst(stripPrefix.count) }
            key = legacyKeyRename(key)
            try t.validate(file: path, key: key)
            guard entries[key] == nil else {
                throw WeightError.corrupt(file: path, reason: "tensor '\(key)' appears twice (after renaming legacy keys)")
            }
            entries[key] = Entry(dtype: t.storage.dtype, storageType: t.storage.typeName, shape: t.size,
                                 strides: t.stride, offset: t.offset, storageKey: t.storage.key)
            used[t.storage.key] = t.storage.data
            keys.append(key)
        }
        self.entries = entries
        self.keys = keys
        storages = used
    }

    public var sourceName: String { path }
    public var allKeys: [String] { keys }
    public func contains(_ key: String) -> Bool { entries[key] != nil }

    /// A zero-copy view of tensor `key` in its stored dtype (strided as saved).
    public func tensor(_ key: String) throws -> Tensor {
        guard let e = entries[key] else { throw WeightError.missingKey(file: path, key: key) }
        guard let dtype = e.dtype else { throw WeightError.unsupportedDType(file: path, key: key, dtype: e.storageType) }
        let data = storages[e.storageKey]!
        let mapping = archive.mapping
        let p = mapping.base + data.data.lowerBound
        let storage: TensorStorage
        if Int(bitPattern: p) % dtype.byteSize == 0 {
            storage = TensorStorage(borrowing: p, byteCount: data.data.count, release: { _ = mapping })
        } else {
            // Zip writers other than torch's may leave storages unaligned: copy once.
            storage = TensorStorage(byteCount: data.data.count)
            storage.base.copyMemory(from: p, byteCount: data.data.count)
        }
        return Tensor(storage: storage, dtype: dtype, shape: e.shape, strides: e.strides, offset: e.offset)
    }
}

/// The reference loader's legacy rename (spec §3.1): `framestride_embed` became `fps_embedding`.
func legacyKeyRename(_ key: String) -> String {
    key.contains("framestride_embed") ? key.replacingOccurrences(of: "framestride_embed", with: "fps_embedding") : key
}

/// A storage named by a persistent id: `('storage', torch.<Type>Storage, key, location, numel)`.
final class TorchStorageRef {
    let key: String
    let typeName: String
    let dtype: DType?
    let numel: Int
    let data: ZipArchive.Entry

    init(key: String, typeName: String, dtype: DType?, numel: Int, data: ZipArchive.Entry) {
        self.key = key
        self.typeName = typeName
        self.dtype = dtype
        self.numel = numel
        self.data = data
    }
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, …)`: a view, checked when it is used.
final class TorchTensorRef {
    let storage: TorchStorageRef
    let offset: Int
    let size: [Int]
    let stride: [Int]

    init(storage: TorchStorageRef, offset: Int, size: [Int], stride: [Int]) {
        self.storage = storage
        self.offset = offset
        self.size = size
        self.stride = stride
    }

    /// The view must stay inside its storage: no negative sizes or strides, no overflow.
    func validate(file: String, key: String) throws {
        func bad(_ why: String) -> WeightError {
            .corrupt(file: file, reason: "tensor '\(key)' (size \(size), stride \(stride), offset \(offset)) \(why)")
        }
        guard size.count == stride.count, size.count <= 64 else { throw bad("has a malformed shape") }
        guard offset >= 0, size.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }) else {
            throw bad("has a negative size, stride or offset")
        }
        var numel = 1, last = offset
        for (n, s) in zip(size, stride) {
            let (m, o1) = numel.multipliedReportingOverflow(by: n)
            guard !o1 else { throw bad("has an absurd element count") }
            numel = m
            if n > 0 {
                let (step, o2) = (n - 1).multipliedReportingOverflow(by: s)
                let (sum, o3) = last.addingReportingOverflow(step)
                guard !o2, !o3 else { throw bad("overflows when indexed") }
                last = sum
            }
        }
        if numel > 0 && last >= storage.numel {
            throw bad("reaches element \(last) of storage '\(storage.key)', which holds \(storage.numel)")
        }
    }
}

/// What a torch checkpoint's pickle may name: the few torch/collections callables that rebuild a
/// state dict, the storage classes, and inert bookkeeping classes. Everything else is refused.
struct CheckpointEnvironment: PickleEnvironment {
    let archive: ZipArchive
    let root: String
    private let cache = StorageCache()

    final class StorageCache { var byKey: [String: TorchStorageRef] = [:] }

    init(archive: ZipArchive, root: String) {
        self.archive = archive
        self.root = root
    }

    /// Storage classes: dtype (nil when not computed with) and element size.
    static let storageTypes: [String: (DType?, Int)] = [
        "FloatStorage": (.f32, 4), "HalfStorage": (.f16, 2), "BFloat16Storage": (.bf16, 2),
        "DoubleStorage": (.f64, 8), "LongStorage": (.i64, 8), "IntStorage": (.i32, 4), "ByteStorage": (.u8, 1),
        "BoolStorage": (nil, 1), "CharStorage": (nil, 1), "ShortStorage": (nil, 2),
        "ComplexFloatStorage": (nil, 8), "ComplexDoubleStorage": (nil, 16),
    ]

    static let rebuilders: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter",
    ]

    /// Classes and functions of training bookkeeping (Lightning hyper-parameters, OmegaConf configs,
    /// numpy scalars, versions) that may appear outside the state dict. They become inert objects:
    /// nothing is constructed or called.
    static let inertGlobals: Set<String> = [
        "builtins.set", "builtins.frozenset", "builtins.dict", "builtins.list", "builtins.tuple", "builtins.int",
        "builtins.float", "builtins.str", "builtins.bool", "builtins.bytes", "builtins.object", "builtins.slice",
        "builtins.complex", "builtins.bytearray", "builtins.NoneType",
        // Protocol 2 writes builtins under their Python 2 names.
        "__builtin__.set", "__builtin__.frozenset", "__builtin__.dict", "__builtin__.list", "__builtin__.tuple",
        "__builtin__.int", "__builtin__.long", "__builtin__.float", "__builtin__.str", "__builtin__.unicode",
        "__builtin__.bool", "__builtin__.bytes", "__builtin__.object", "__builtin__.slice", "__builtin__.complex",
        "__builtin__.bytearray",
        "collections.defaultdict", "collections.Counter", "copyreg._reconstructor", "copy_reg._reconstructor",
        "_codecs.encode",
        "typing.Any", "argparse.Namespace", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.Path",
        "datetime.datetime", "datetime.date", "datetime.timedelta", "uuid.UUID", "enum.Enum",
        "numpy.dtype", "numpy.ndarray", "numpy.core.multiarray._reconstruct", "numpy.core.multiarray.scalar",
        "numpy._core.multiarray._reconstruct", "numpy._core.multiarray.scalar",
        "torch.torch_version.TorchVersion", "torch.device", "torch.Size", "torch.float32", "torch.float16",
        "torch.bfloat16", "torch.int64",
        "pytorch_lightning.utilities.parsing.AttributeDict", "lightning.fabric.utilities.data.AttributeDict",
        "lightning_fabric.utilities.data.AttributeDict", "lightning.pytorch.utilities.parsing.AttributeDict",
    ]
    /// Modules whose classes are plain data containers (OmegaConf nodes and metadata).
    static let inertModules = ["omegaconf."]

    func global(module: String, name: String) throws -> PickleValue {
        let full = "\(module).\(name)"
        if module == "torch", CheckpointEnvironment.storageTypes[name] != nil { return .global(module: module, name: name) }
        if CheckpointEnvironment.rebuilders.contains(full) || CheckpointEnvironment.inertGlobals.contains(full)
            || CheckpointEnvironment.inertModules.contains(where: { module.hasPrefix($0) || module + "." == $0 }) {
            return .global(module: module, name: name)
        }
        throw PickleError(message: "pickle global '\(full)' is not allowed: a checkpoint needs only tensors, storages, OrderedDict and training bookkeeping (nothing is executed)", forbidden: true)
    }

    func call(_ callable: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case let .global(module, name) = callable else {
            throw PickleError(message: "cannot call a \(callable.kind)")
        }
        switch "\(module).\(name)" {
        case "collections.OrderedDict":
            let d = PickleDict()
            if let first = args.first {
                guard case let .list(l) = first else { throw PickleError(message: "OrderedDict(\(first.kind)) is not supported") }
                for item in l.items {
                    guard case let .tuple(kv) = item, kv.count == 2 else { throw PickleError(message: "OrderedDict item is not a pair") }
                    d.items.append((kv[0], kv[1]))
                }
            }
            return .dict(d)
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard args.count >= 4, case let .storage(s) = args[0], case let .int(offset) = args[1] else {
                throw PickleError(message: "\(name): expected (storage, offset, size, stride, …), got (\(args.map(\.kind).joined(separator: ", ")))")
            }
            return .tensor(TorchTensorRef(storage: s, offset: offset, size: try ints(args[2], name), stride: try ints(args[3], name)))
        case "torch._utils._rebuild_parameter":
            guard let first = args.first, case .tensor = first else {
                throw PickleError(message: "_rebuild_parameter: expected a tensor first")
            }
            return first
        default:
            if module == "torch" && CheckpointEnvironment.storageTypes[name] != nil {
                throw PickleError(message: "storage class torch.\(name) called directly (legacy serialization is not supported)")
            }
            return .object(PickleObject(className: "\(module).\(name)"))
        }
    }

    private func ints(_ v: PickleValue, _ fn: String) throws -> [Int] {
        guard case let .tuple(items) = v else { throw PickleError(message: "\(fn): size/stride is a \(v.kind), not a tuple") }
        return try items.map {
            guard case let .int(i) = $0 else { throw PickleError(message: "\(fn): size/stride holds a \($0.kind)") }
            return i
        }
    }

    func persistentLoad(_ id: PickleValue) throws -> PickleValue {
        guard case let .tuple(t) = id, t.count == 5, case .string("storage") = t[0],
              case let .global(module, typeName) = t[1], module == "torch",
              let (dtype, elementSize) = CheckpointEnvironment.storageTypes[typeName],
              case let .string(key) = t[2], case let .int(numel) = t[4], numel >= 0 else {
            throw PickleError(message: "unsupported persistent id \(id.summary): expected ('storage', torch.<Type>Storage, key, location, numel)")
        }
        if let s = cache.byKey[key] {
            guard s.typeName == typeName else { throw PickleError(message: "storage '\(key)' is used as both \(s.typeName) and \(typeName)") }
            return .storage(s)
        }
        let name = root + "data/" + key
        guard let entry = archive.entries[name] else { throw PickleError(message: "storage '\(key)': no archive entry \(name)") }
        let (bytes, overflow) = numel.multipliedReportingOverflow(by: elementSize)
        guard !overflow, bytes == entry.data.count else {
            throw PickleError(message: "storage '\(key)' declares \(numel) \(typeName) elements but \(name) holds \(entry.data.count) bytes")
        }
        let s = TorchStorageRef(key: key, typeName: typeName, dtype: dtype, numel: numel, data: entry)
        cache.byKey[key] = s
        return .storage(s)
    }
}
