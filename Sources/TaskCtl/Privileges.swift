import Glibc

/// Run as root, taskctl acts as the owner of the state directory.
///
/// The servers run as an unprivileged service user and must be able to read every file taskctl writes (the keys
/// file is mode 0600). An operator naturally types `sudo taskctl key add ...`; switching to the directory's owner
/// before touching anything makes the new files the service user's, exactly as if `runuser -u taskd` had been used.
enum Privileges {
    static func adoptOwner(of directory: String) throws {
        guard geteuid() == 0 else { return }
        var info = stat()
        // No state dir yet (or it belongs to root): nothing to adopt, act as root.
        guard stat(directory, &info) == 0, info.st_uid != 0 else { return }
        guard setgroups(0, nil) == 0, setgid(info.st_gid) == 0, setuid(info.st_uid) == 0 else {
            throw CommandFailure(
                .permission,
                "Could not switch to the owner (uid \(info.st_uid)) of \(directory): \(String(cString: strerror(errno)))."
            )
        }
    }
}
