// What `import Photon` shows besides the pipelines: the vocabulary types of their signatures.
// The rest of PhotonCore (tensors, the backend protocol) and the OpenCL layer stay behind the
// pipelines; tools and tests import those modules by name.
@_exported import enum PhotonCore.BackendKind
@_exported import struct PhotonCore.PhotonError
@_exported import enum PhotonCore.Pooling
@_exported import enum PhotonCore.Precision
