import TaskCore
import TaskdFuzzSupport

/// libFuzzer target: a checkpoint or version 1 document, as `WireFormat.decodeCheckpoint` reads it. A document that
/// decodes must keep `StoredLimits`, encode to bytes that decode to the same state and encode identically, and
/// never make the scheduler trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let document = try? WireFormat.decodeCheckpoint(FuzzInput.bytes(data, size)) else { return 0 }
    FuzzInput.require((try? StoredLimits.check(document.state)) != nil, "a decoded state is out of range")
    let bytes = WireFormat.checkpointDocument(document.state, chain: document.chain)
    let again = try? WireFormat.decodeCheckpoint(bytes)
    FuzzInput.require(
        again?.state == document.state && again?.chain == document.chain, "the document does not read back")
    if let again {
        FuzzInput.require(
            WireFormat.checkpointDocument(again.state, chain: again.chain) == bytes, "the document encodes twice")
    }
    FuzzInput.exerciseScheduler(on: document.state)
    return 0
}
