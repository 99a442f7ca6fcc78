import PhotonCore
