// swift-tools-version:6.0
import PackageDescription

// Release builds of the numeric targets drop bounds and exclusivity checks: the kernels index raw
// pointers in tight loops and are tested against naive references instead.
let numeric: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "tcgraph",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "TCCore", targets: ["TCCore"]),
        .library(name: "TCModels", targets: ["TCModels"]),
        .executable(name: "tcgraph", targets: ["tcgraph"]),
        // Node plugins: one dynamic library per node family, found by name (libTCPlugin*.so).
        .library(name: "TCPluginLoad", type: .dynamic, targets: ["LoadPlugin"]),
        .library(name: "TCPluginWrite", type: .dynamic, targets: ["WritePlugin"]),
        .library(name: "TCPluginSketchExtract", type: .dynamic, targets: ["SketchExtractPlugin"]),
        .library(name: "TCPluginColorize", type: .dynamic, targets: ["ColorizePlugin"]),
        .library(name: "TCPluginEncode", type: .dynamic, targets: ["EncodePlugin"]),
        .library(name: "TCPluginDenoise", type: .dynamic, targets: ["DenoisePlugin"]),
        .library(name: "TCPluginDetailDecode", type: .dynamic, targets: ["DetailDecodePlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Vectorised C kernels (AVX2+FMA chosen at run time, portable fallback) behind TCCore's API.
        .target(name: "CTCKernels", cSettings: [.unsafeFlags(["-O3"], .when(configuration: .release))]),
        .target(name: "TCCore", dependencies: ["COpenBLAS", "CTCKernels"], swiftSettings: numeric),
        .target(name: "TCModels", dependencies: ["TCCore", "CZlib"],
                exclude: ["CLIP/Resources/README.md"],
                resources: [.copy("CLIP/Resources/bpe_simple_vocab_16e6.txt.gz")], swiftSettings: numeric),
        // The plugin ABI: C headers only, shared by the host and every plugin (DESIGN.md §2).
        .target(name: "CTCABI"),
        // Swift side of the ABI: Tensor ⇄ C tensors, node definitions; linked into every plugin.
        .target(name: "TCPluginKit", dependencies: ["CTCABI", "TCCore"]),
        // The engine: YAML graphs, validation, scheduling, cache, plugin host and its services.
        .target(name: "TCGraph", dependencies: ["CTCABI", "TCCore", "TCPluginKit", "Yams"]),
        // PNG (libpng) and OpenEXR (C core) as tensors; the C part turns longjmp errors into codes.
        // DWAA/DWAB go through OpenEXR's C++ library, which the 3.1 C core lacks.
        .target(name: "CTCImageCodecs",
                cxxSettings: [.unsafeFlags(["-I/usr/include/OpenEXR", "-I/usr/include/Imath"])],
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("OpenEXRCore"), .linkedLibrary("OpenEXR"),
                                 .linkedLibrary("Iex"), .linkedLibrary("Imath")]),
        .target(name: "TCImageIO", dependencies: ["CTCImageCodecs", "TCCore"], swiftSettings: numeric),
        .target(name: "LoadPlugin", dependencies: ["TCPluginKit", "TCImageIO", "TCCore"], path: "Plugins/Load", swiftSettings: numeric),
        .target(name: "WritePlugin", dependencies: ["TCPluginKit", "TCImageIO", "TCCore"], path: "Plugins/Write", swiftSettings: numeric),
        .target(name: "SketchExtractPlugin", dependencies: ["TCPluginKit", "TCModels", "TCImageIO", "TCCore"],
                path: "Plugins/SketchExtract", swiftSettings: numeric),
        .target(name: "ColorizePlugin", dependencies: ["TCPluginKit", "TCModels", "TCCore"], path: "Plugins/Colorize",
                swiftSettings: numeric),
        // The interpolation nodes: model resolution through the host's weight store and the
        // COND/REFS/LATENT port conventions shared by Encode, Denoise and DetailDecode.
        .target(name: "ModelNodeKit", dependencies: ["TCPluginKit", "TCModels", "TCCore"], path: "Plugins/ModelNodeKit", swiftSettings: numeric),
        .target(name: "EncodePlugin", dependencies: ["ModelNodeKit", "TCPluginKit", "TCModels", "TCImageIO", "TCCore"], path: "Plugins/Encode", swiftSettings: numeric),
        .target(name: "DenoisePlugin", dependencies: ["ModelNodeKit", "TCPluginKit", "TCModels", "TCCore"], path: "Plugins/Denoise", swiftSettings: numeric),
        .target(name: "DetailDecodePlugin", dependencies: ["ModelNodeKit", "TCPluginKit", "TCModels", "TCCore"], path: "Plugins/DetailDecode", swiftSettings: numeric),
        .executableTarget(name: "tcgraph", dependencies: [
            "TCCore", "TCModels", "TCGraph",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "TCCoreTests", dependencies: ["TCCore", "CTCKernels"], exclude: ["Fixtures"]),
        .testTarget(name: "TCModelsTests", dependencies: ["TCModels", "TCCore"], exclude: ["SketchFixtures"]),
        .testTarget(name: "TCGraphTests", dependencies: ["TCGraph", "TCImageIO", "TCPluginKit", "TCCore"]),
    ],
    // Swift 5 mode: the kernels hand raw pointers to concurrent loops, which Swift 6's strict
    // Sendable checking rejects without adding anything for this code.
    swiftLanguageModes: [.v5]
)
