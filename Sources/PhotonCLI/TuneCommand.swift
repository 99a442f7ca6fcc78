import ArgumentParser
import Foundation
import Photon
import PhotonOpenCL

struct TuneCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tune",
    abstract: "Time every GEMM (CLBlast included) and attention variant on the device; keep the fastest correct ones.",
    discussion:
      "The choice is stored under $PHOTON_CACHE_DIR/tuning (default ~/.cache/photon) and used by every later run on this device and driver."
  )

  @Flag(help: "Print the choice as JSON.") var json = false

  func run() throws {
    let device = try OpenCLDevice.select()
    let choice = try KernelTuner.choice(
      for: device, in: ProgramCompiler.defaultCacheDirectory, includeCLBlast: true, force: true,
      budgetSeconds: .infinity)
    if json {
      try printJSONLine(choice)
      return
    }
    print(
      "\(choice.device) (driver \(choice.driver)): GEMM \(choice.gemm.rawValue), attention \(choice.attention.rawValue)"
    )
    for (name, ms) in choice.milliseconds.sorted(by: { $0.key < $1.key }) {
      print(
        "  " + name.padding(toLength: 24, withPad: " ", startingAt: 0)
          + (ms.isFinite ? String(format: "%8.2f ms", ms) : "  failed or wrong"))
    }
  }
}
