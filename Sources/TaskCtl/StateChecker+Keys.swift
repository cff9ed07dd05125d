import Glibc
import TaskStore

/// `taskctl check`'s look at the keys file: its mode, then every entry as the servers read it (`KeysFile.load`), so
/// that each key a server refuses is named here with the reason, and the tenants concerned.
extension StateChecker {
    func checkKeys(_ report: inout CheckReport) {
        let path = settings.keysFile
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT {
                report.warning(path, "There is no keys file: no key was ever issued (taskctl key add TENANT).")
            } else {
                report.problem(path, "The keys file cannot be read: \(Self.errnoText()).")
            }
            return
        }
        if info.st_mode & 0o077 != 0 {
            report.problem(
                path,
                "The keys file is accessible to other users (mode \(String(info.st_mode & 0o777, radix: 8)));"
                    + " it must be 0600.")
        }
        let contents: KeysFile.Contents
        do {
            contents = try KeysFile.load(path: path) ?? KeysFile.Contents()
        } catch {
            report.problem(path, "The keys file is unusable, so the servers accept no key: \(error).")
            return
        }
        report.keys = contents.entries.count + contents.problems.count
        for problem in contents.problems {
            report.problem(
                path, "\(problem). The servers refuse that entry's key; repair the entry or remove it (with jq).")
        }
        let duplicated = contents.duplicatedHashes.values.sorted { $0[0].id < $1[0].id }
        for holders in duplicated {
            let tenants = Set(holders.map(\.tenant)).sorted().map(\.rawValue)
            report.problem(
                path,
                "Keys \(holders.map(\.id).joined(separator: ", ")) have the same hash (tenants"
                    + " \(tenants.joined(separator: ", "))): the servers refuse that key for all of them. Revoke the"
                    + " entries that should not be there (taskctl key revoke ID).")
        }
        for entry in contents.entries
        where contents.flawedHashes.contains(entry.sha256) && contents.duplicatedHashes[entry.sha256] == nil {
            report.problem(
                path,
                "Key \(entry.id) (tenant \(entry.tenant)) has the same hash as a flawed entry above: the servers"
                    + " refuse it until that entry is repaired or removed.")
        }
        var seen = Set<String>()
        for entry in contents.entries where !seen.insert(entry.id).inserted {
            report.problem(path, "Key id \(entry.id) appears more than once (taskctl key revoke removes the first).")
        }
    }
}
