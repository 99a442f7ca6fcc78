// swift-tools-version: 6.1
import PackageDescription

// Layers (arrows point one way):
// PhotonCLI → PhotonTools → Photon → PhotonModels → PhotonCore ← PhotonCPU | PhotonOpenCL → COpenCL
let package = Package(
  name: "Photon",
  platforms: [.macOS(.v14)],
  products: [
    .library(name: "Photon", targets: ["Photon"]),
    .executable(name: "photon", targets: ["PhotonCLI"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    // `swift package generate-documentation --target Photon` (scripts/lint-docs.sh).
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
  ],
  targets: [
    // System libraries: a module map and a shim header, nothing else.
    .systemLibrary(
      name: "COpenCL", path: "Sources/COpenCL",
      providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers", "libclblast-dev"])]),
    .systemLibrary(
      name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CMathVector", path: "Sources/CMathVector", providers: [.apt(["libc6-dev"])]),
    .systemLibrary(name: "CStandardIO", path: "Sources/CStandardIO"),

    // The .cl sources, embedded into the binary at build time.
    .target(
      name: "PhotonKernels", path: "Kernels",
      exclude: ["README.md"],
      resources: [
        .embedInCode("common.cl"),
        .embedInCode("gemm.cl"),
        .embedInCode("gemm_quant.cl"),
        .embedInCode("norm.cl"),
        .embedInCode("attention.cl"),
        .embedInCode("elementwise.cl"),
        .embedInCode("embedding.cl"),
      ]),

    .target(name: "PhotonCore"),
    .target(name: "PhotonCPU", dependencies: ["PhotonCore", "CBLAS", "CMathVector"]),
    .target(name: "PhotonOpenCL", dependencies: ["PhotonCore", "PhotonKernels", "COpenCL"]),
    .target(name: "PhotonLoading", dependencies: ["PhotonCore"]),
    .target(
      name: "PhotonTokenizers",
      dependencies: ["PhotonCore", .product(name: "HeapModule", package: "swift-collections")]),
    .target(name: "PhotonModels", dependencies: ["PhotonCore", "PhotonLoading"]),
    .target(
      name: "Photon",
      dependencies: [
        "PhotonCore", "PhotonCPU", "PhotonOpenCL", "PhotonLoading", "PhotonTokenizers",
        "PhotonModels",
      ]),
    // Benchmarks, accuracy reports and the quantizer: what `photon` runs besides the pipelines,
    // kept out of the library's public surface.
    .target(
      name: "PhotonTools",
      dependencies: ["Photon", "PhotonCore", "PhotonCPU", "PhotonOpenCL", "PhotonLoading", "PhotonModels"]),
    .executableTarget(
      name: "PhotonCLI",
      dependencies: [
        "Photon", "PhotonTools", "PhotonCore", "PhotonOpenCL", "CStandardIO",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "HeapModule", package: "swift-collections"),
      ]),

    .target(name: "PhotonTestSupport", dependencies: ["PhotonCore"], path: "Tests/PhotonTestSupport"),
    .testTarget(
      name: "PhotonOpenCLTests",
      dependencies: ["PhotonOpenCL", "PhotonCPU", "PhotonTestSupport", "COpenCL"]),
    .testTarget(
      name: "PhotonLoadingTests",
      dependencies: ["PhotonLoading", "PhotonTestSupport"]),
    .testTarget(name: "PhotonTests", dependencies: ["Photon", "PhotonTools", "PhotonTestSupport"]),
    .testTarget(name: "PhotonCLITests", dependencies: ["PhotonCLI", "PhotonTestSupport"]),
    .testTarget(
      name: "PhotonModelsTests",
      dependencies: ["PhotonModels", "PhotonLoading", "PhotonCPU", "PhotonOpenCL", "PhotonTestSupport"]),
    .testTarget(
      name: "PhotonTokenizersTests",
      dependencies: ["PhotonTokenizers", "PhotonTestSupport"]),
  ]
)

// Fuzz targets (issue 13): one libFuzzer binary, built only by scripts/fuzz.sh, which sets
// PHOTON_FUZZ=1 and adds -sanitize=fuzzer,address (libFuzzer supplies `main`, hence
// -parse-as-library). Absent from every other build, so `swift build` and `swift test` never see it.
if Context.environment["PHOTON_FUZZ"] != nil {
  package.targets.append(
    .executableTarget(
      name: "PhotonFuzz", dependencies: ["PhotonCore", "PhotonLoading", "PhotonModels", "PhotonTokenizers"],
      swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
}
