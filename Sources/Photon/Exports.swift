@_exported import PhotonCore
