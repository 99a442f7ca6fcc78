import ArgumentParser
import Foundation
import Photon
import PhotonOpenCL

struct DevicesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "devices", abstract: "List OpenCL devices and their properties.")

  @Flag(help: "Print one JSON array instead of a table.")
  var json = false

  func run() throws {
    let devices = try OpenCLDevice.all()
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      print(String(decoding: try encoder.encode(devices), as: UTF8.self))
      return
    }
    let selected = ProcessInfo.processInfo.environment["PHOTON_DEVICE"].map { "PHOTON_DEVICE=\($0)" }
    for device in devices {
      let kind = device.isGPU ? "GPU" : device.isCPU ? "CPU" : "other"
      print("[\(device.index)] \(device.name)  (\(kind), \(device.platformName))")
      let rows: [(String, String)] = [
        ("vendor", device.vendor),
        ("driver", device.driverVersion),
        ("OpenCL", "\(device.deviceVersion); \(device.openCLCVersion); platform \(device.platformVersion)"),
        ("compute units", "\(device.computeUnits)"),
        ("global memory", bytes(device.globalMemoryBytes) + " (max allocation \(bytes(device.maxAllocationBytes)))"),
        ("local memory", bytes(device.localMemoryBytes)),
        ("max work-group", "\(device.maxWorkGroupSize)"),
        (
          "fp16 / fp64 / subgroups",
          [device.supportsFP16, device.supportsFP64, device.supportsSubgroups].map { $0 ? "yes" : "no" }.joined(
            separator: " / ")
        ),
      ]
      for (name, value) in rows {
        print("    " + name.padding(toLength: 24, withPad: " ", startingAt: 0) + value)
      }
    }
    if let selected { print("selection: \(selected)") }
  }

  private func bytes(_ count: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
  }
}
