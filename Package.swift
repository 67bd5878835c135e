// swift-tools-version: 6.0
// ScaleLLM: a resource-frugal LLM serving system (gateway + engine workers), see README.md and docs/architecture.md.
import PackageDescription

/// Hot numeric code is compiled with full optimisation even in debug builds of the tests.
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"])]

let package = Package(
    name: "ScaleLLM",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "scalellm", targets: ["scalellm"]),
        .executable(name: "scalellm-gateway", targets: ["scalellm-gateway"]),
        .executable(name: "scalellm-worker", targets: ["scalellm-worker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // System libraries from Debian (installed by scripts/setup.sh).
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // protoc-c output for Sources/WireProtocol/scalellm.proto (regenerate with scripts/gen-proto.sh).
        .target(name: "CWireMessages", dependencies: ["CProtobufC"]),

        // Float32 kernels (fp32 and fp8 linear layers on packed weights, the integer linear layer over GGUF
        // blocks, paged attention, SwiGLU), built per
        // instruction set (AVX-512, AVX2, baseline) and picked at run time (Swift code targets baseline x86-64 only).
        // GGUF block formats: exact decoding, unpacking for the integer kernel, reference quantisers. No fused
        // multiply-adds, so that decoding rounds exactly as ggml's reference does.
        .target(name: "CGGUFQuants", cSettings: [.unsafeFlags(["-O2", "-ffp-contract=off"])]),
        .target(name: "CFloatKernels", dependencies: ["CGGUFQuants"], cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "Kernels", dependencies: ["CFloatKernels", "CGGUFQuants"], swiftSettings: kernelFlags),
        // OpenBLAS, only for the benchmarks' reference rates (sgemm, sasum) and the kernel tests' reference product:
        // serving never calls it, so serve, the worker and the gateway neither link nor tune it.
        .target(name: "BLAS", dependencies: ["COpenBLAS", "Kernels"], swiftSettings: kernelFlags),
        // Tensor-parallel worker groups on one machine: shared-memory barrier, all-reduce and plan broadcast.
        // CProcessGroupShim wraps the futex system call (glibc's variadic `syscall` does not import into Swift).
        .target(name: "CProcessGroupShim"),
        .target(name: "ProcessGroup", dependencies: ["CProcessGroupShim"], swiftSettings: kernelFlags),
        // Multi-process peer for ProcessGroupTests and `scalellm-shm-probe --bench` (all-reduce latency table).
        .executableTarget(name: "scalellm-shm-probe", dependencies: ["ProcessGroup"], swiftSettings: kernelFlags),
        .target(name: "ModelFormats", dependencies: ["CGGUFQuants"], swiftSettings: kernelFlags),
        .target(name: "Tokenizers", dependencies: ["ModelFormats"]),
        .target(name: "ChatTemplates", dependencies: ["ModelFormats"]),
        .target(name: "ServingBenchmark", dependencies: ["Kernels"]),
        // The libuv event loop, streams, timers and signals that both processes are driven by (one I/O model).
        .target(name: "LoopIO", dependencies: ["CLibUV"]),
        .target(name: "WireProtocol", dependencies: ["CWireMessages", "CProtobufC", "CZstd"], exclude: ["scalellm.proto"]),
        .target(name: "EngineWorker", dependencies: ["Kernels", "ModelFormats", "Tokenizers", "WireProtocol", "ProcessGroup", "LoopIO",
                                                    .product(name: "Logging", package: "swift-log")],
                swiftSettings: kernelFlags),
        .target(name: "Gateway", dependencies: ["CLibUV", "LoopIO", "WireProtocol", "Tokenizers", "ModelFormats", "ChatTemplates",
                                               .product(name: "Logging", package: "swift-log")]),

        .target(name: "CommandLineOptions", dependencies: [
            "EngineWorker", "Gateway", "ModelFormats", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // What `scalellm serve` does when its children exit or it is asked to stop (restart with backoff, give up).
        .target(name: "Supervision"),
        .executableTarget(name: "scalellm", dependencies: [
            "BLAS", "EngineWorker", "LoopIO", "Supervision", "Gateway", "Tokenizers", "ModelFormats", "CommandLineOptions", "ServingBenchmark", "WireProtocol",
            .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "scalellm-gateway", dependencies: [
            "Gateway", "CommandLineOptions", "ChatTemplates", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "scalellm-worker", dependencies: [
            "EngineWorker", "CommandLineOptions", "CProcessGroupShim", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "BLAS", "CFloatKernels", "CGGUFQuants", "TestSupport"]),
        .testTarget(name: "ProcessGroupTests", dependencies: ["ProcessGroup", "TestSupport"]),
        .testTarget(name: "ChatTemplatesTests", dependencies: ["ChatTemplates", "ModelFormats", "TestSupport"]),
        .testTarget(name: "ServingBenchmarkTests", dependencies: ["ServingBenchmark", "TestSupport"]),
        .testTarget(name: "ModelFormatsTests", dependencies: ["ModelFormats", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "ModelFormats", "TestSupport"]),
        .testTarget(name: "WireProtocolTests", dependencies: ["WireProtocol", "TestSupport"]),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "LoopIO", "CLibUV", "WireProtocol", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "EngineWorkerTests", dependencies: ["EngineWorker", "ModelFormats", "Kernels", "WireProtocol", "TestSupport",
                                                           "ProcessGroup"]),
        .testTarget(name: "SupervisionTests", dependencies: ["Supervision"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "ModelFormats", "WireProtocol"]),
    ]
)
