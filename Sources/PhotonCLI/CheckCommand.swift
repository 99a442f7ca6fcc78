import ArgumentParser
import Foundation
import Photon
import PhotonOpenCL
import PhotonTools

struct CheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Run every op on the OpenCL device and on the CPU reference; print the largest difference per op.")

  @Flag(help: "Print one JSON array.") var json = false

  func run() throws {
    let gpu = try OpenCLBackend()
    let rows = try BackendCheck.run(gpu: gpu)
    if json {
      try printJSONLine(rows)
      return
    }
    print(
      "OpenCL device: \(gpu.deviceName) (GEMM \(gpu.gemmVariant.rawValue), attention \(gpu.attentionVariant.rawValue)) vs CPU reference"
    )
    for row in rows {
      print(
        row.op.padding(toLength: 26, withPad: " ", startingAt: 0)
          + row.shape.padding(toLength: 26, withPad: " ", startingAt: 0)
          + String(format: "max abs diff %.2e", row.maxAbsDiff))
    }
  }
}
