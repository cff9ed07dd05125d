import TaskCore

/// What a `ChangeLogFollower` reports.
public enum FollowerEvent: Hashable, Sendable {
    /// The next record of the log.
    case change(ChangeRecord)
    /// Records may have been missed (the log was rotated twice, truncated, or held a damaged line): re-read every
    /// workspace you hold. Records after a reset may repeat what the re-read shows; skip those by sequence.
    case reset
    /// This workspace has a committed change that the log never announced (its writer died between committing and
    /// logging it): re-read it.
    case stale(WorkspaceKey)
}
