/// The OpenCL C sources in `Kernels/`, compiled into the binary by SwiftPM's `.embedInCode`, so
/// there is no file to find at run time and no copy that can drift from the `.cl` files.
public enum KernelSource {
  /// Helpers prepended to every program (embedded sources have no include path).
  public static let common = text(PackageResources.common_cl)
  public static let gemm = text(PackageResources.gemm_cl)
  /// fp16 and int8 weight GEMMs (see ``Precision``).
  public static let gemmQuant = text(PackageResources.gemm_quant_cl)
  public static let norm = text(PackageResources.norm_cl)
  public static let attention = text(PackageResources.attention_cl)
  public static let elementwise = text(PackageResources.elementwise_cl)
  public static let embedding = text(PackageResources.embedding_cl)

  private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
