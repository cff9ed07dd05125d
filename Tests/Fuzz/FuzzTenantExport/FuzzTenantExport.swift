import TaskCore
import TaskStore
import TaskdFuzzSupport

/// libFuzzer target: a tenant export, as `taskctl tenant import` reads it (`TenantExport.read`). Every workspace of
/// an export that reads must keep the rules of a stored workspace (`StoredLimits.check`), since import writes it as
/// a checkpoint, and must never make the scheduler trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTenantExport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let export = try? TenantExport.read(FuzzInput.bytes(data, size), path: "export.json") else { return 0 }
    for workspace in export.document.workspaces {
        FuzzInput.require(
            (try? StoredLimits.check(workspace.state)) != nil, "workspace \(workspace.id) is out of range")
        FuzzInput.exerciseScheduler(on: workspace.state)
    }
    return 0
}
