// Model graphs (Bert.swift, DistilBert.swift, …) land here, written against PhotonCore.Backend.
import PhotonCore
