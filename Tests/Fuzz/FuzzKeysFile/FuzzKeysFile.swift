import TaskStore
import TaskdFuzzSupport

/// libFuzzer target: the keys file, as `KeysFile.list` reads it (the servers' key ring reads it the same way).
/// Whatever the bytes, it returns entries or throws.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeysFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let path = FuzzInput.write(FuzzInput.bytes(data, size), to: "keys.json")
    _ = try? KeysFile.list(path: path)
    return 0
}
