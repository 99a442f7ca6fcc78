import CBLAS
import Dispatch
import Foundation

/// How the reference backend uses the cores: an op splits its rows (or its (batch, head) pairs)
/// into contiguous chunks run side by side by `DispatchQueue.concurrentPerform`, and OpenBLAS runs
/// single-threaded inside each chunk. Two thread pools on the same cores fight: OpenBLAS's threads
/// spin (`sched_yield`) waiting for work while Dispatch's hold the cores, and a threaded sgemm
/// called from several chunks at once oversubscribes them. One pool, ours, avoids both, and lets
/// a chunk apply its epilogue (bias, GELU) while its GEMM output is still in cache.
enum Parallel {
  /// Cores the chunks are spread over.
  static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

  /// Sets OpenBLAS to one thread, once per process (the setting is global to the library).
  static let singleThreadedBLAS: Void = openblas_set_num_threads(1)

  /// Runs `body` on contiguous chunks covering `0..<count`, concurrently; returns when all are done.
  /// Chunks hold at least `grain` items (fewer only when `count < grain`); up to four per core, so
  /// that a core another process holds for a while does not leave the rest waiting on its chunk.
  /// `body` must write only to memory its own chunk owns.
  static func forEachChunk(of count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let chunks = min(max(1, count / max(grain, 1)), cores * 4)
    guard chunks > 1 else { return body(0..<count) }
    withoutActuallyEscaping(body) { body in
      let work = UncheckedSendable(body)
      DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        work.value((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
      }
    }
  }

  /// `body` run over chunks writes disjoint memory through raw pointers; Dispatch asks for a
  /// `@Sendable` closure, which this one place vouches for.
  private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
  }
}
