@_exported import PhotonCore
@_exported import PhotonOpenCL
