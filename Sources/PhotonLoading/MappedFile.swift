import Foundation
import PhotonCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file mapped read-only into memory, unmapped when the last reference goes.
///
/// We call `mmap` ourselves rather than `Data(contentsOf:options: .alwaysMapped)`: Foundation may
/// quietly read the whole file instead of mapping it, and a multi-gigabyte checkpoint should cost
/// page-cache pages only for the tensors a model actually reads.
final class MappedFile: @unchecked Sendable {
  // Sendable: the mapping is read-only and never changes after init.
  let url: URL
  let bytes: UnsafeRawBufferPointer

  init(url: URL) throws {
    self.url = url
    let path = url.path
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever; the
    // regular-file check below then refuses it. (It changes nothing for a regular file.)
    let fd = open(path, O_RDONLY | O_NONBLOCK)
    guard fd >= 0 else {
      let reason = String(cString: strerror(errno))
      throw PhotonError(.invalidFile, "\(path): cannot open: \(reason)")
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      let reason = String(cString: strerror(errno))
      throw PhotonError(.invalidFile, "\(path): cannot stat: \(reason)")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw PhotonError(.invalidFile, "\(path): not a regular file (a directory, FIFO or device)")
    }
    let size = Int(info.st_size)
    if size == 0 {
      // mmap rejects a zero length; an empty buffer needs no mapping.
      bytes = UnsafeRawBufferPointer(start: nil, count: 0)
      return
    }
    let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
    guard let address, address != MAP_FAILED else {
      let reason = String(cString: strerror(errno))
      throw PhotonError(.invalidFile, "\(path): cannot map \(size) bytes: \(reason)")
    }
    bytes = UnsafeRawBufferPointer(start: address, count: size)
  }

  deinit {
    if let base = bytes.baseAddress {
      munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
    }
  }
}
