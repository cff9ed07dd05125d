import Foundation
import Testing

/// The units in systemd/: clean under `systemd-analyze verify` and hardened to an exposure of at most 1.0.
@Suite(.timeLimit(.minutes(1)))
struct OperationsSystemdTests {
    static let services = ["taskd-fcgi.service", "taskd-ws.service"]
    static let units = ["taskd.target", "taskd-fcgi.socket"] + services
    static let exposureBar = 1.0

    @Test(arguments: services)
    func serviceExposureIsAtMostOne(service: String) async throws {
        let analyze = try #require(OperationsCommand.which("systemd-analyze"), "systemd-analyze is not installed")
        let unit = OperationsCommand.packageRoot + "/systemd/" + service
        let result = try await OperationsCommand.run(analyze, ["security", "--offline=true", "--no-pager", unit])
        #expect(result.status == 0, "\(result)")
        let exposure = try #require(Self.overallExposure(in: result.stdout + result.stderr), "\(result)")
        #expect(exposure <= Self.exposureBar, "\(service) scores \(exposure):\n\(result.stdout)")
    }

    /// Verifies the units as `make install` writes them, in a root holding the installed binaries and the system's
    /// own units (so dependencies such as sysinit.target and the ExecStart= executables resolve).
    @Test func installedUnitsVerifyClean() async throws {
        let analyze = try #require(OperationsCommand.which("systemd-analyze"), "systemd-analyze is not installed")
        let root = try OperationsCommand.temporaryDirectory("verify")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let install = try await OperationsInstall.run(destination: root)
        #expect(install.status == 0, "\(install)")
        let systemUnits = try #require(
            ["/lib/systemd/system", "/usr/lib/systemd/system"].first {
                FileManager.default.fileExists(atPath: $0 + "/sysinit.target")
            }, "no system units to verify against")
        try FileManager.default.createDirectory(atPath: root + "/lib/systemd", withIntermediateDirectories: true)
        let copy = try await OperationsCommand.run("/bin/cp", ["-a", systemUnits, root + "/lib/systemd/system"])
        #expect(copy.status == 0, "\(copy)")

        let result = try await OperationsCommand.run(analyze, ["verify", "--root=\(root)"] + Self.units)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "systemd-analyze verify is not clean:\n\(result)")
    }

    /// The installed services run what was installed: ExecStart= follows PREFIX.
    @Test func installedServicesStartInstalledBinaries() async throws {
        let root = try OperationsCommand.temporaryDirectory("prefix")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let install = try await OperationsInstall.run(destination: root, prefix: "/usr")
        #expect(install.status == 0, "\(install)")
        for (service, binary) in [("taskd-fcgi.service", "taskd-fcgi"), ("taskd-ws.service", "taskd-ws")] {
            let text = try String(contentsOfFile: root + "/usr/lib/systemd/system/" + service, encoding: .utf8)
            #expect(text.contains("\nExecStart=/usr/bin/\(binary)\n"), "\(service):\n\(text)")
        }
    }

    /// The sidecar only reads the state: it sees it read-only and never makes it writable (`StateDirectory=` would),
    /// and writes only its socket directory. Both services set their open-files limit; the sidecar's holds the
    /// 10,000 clients the deployment documents, beside the 64 descriptors it keeps for the store.
    @Test func theSidecarReadsStateReadOnlyAndBothServicesSetTheirOpenFilesLimit() throws {
        let sidecar = try Self.settings(of: "taskd-ws.service")
        #expect(sidecar["ReadOnlyPaths"] == ["/var/lib/taskd"])
        #expect(sidecar["ReadWritePaths"] == ["/run/taskd"])
        #expect(sidecar["StateDirectory"] == nil)
        let sidecarLimit = try #require(sidecar["LimitNOFILE"]?.first.flatMap { Int($0) })
        #expect(sidecarLimit >= 10_000 + 64 + 64, "LimitNOFILE=\(sidecarLimit)")
        let responder = try Self.settings(of: "taskd-fcgi.service")
        let responderLimit = try #require(responder["LimitNOFILE"]?.first.flatMap { Int($0) })
        #expect(responderLimit >= 1_024)
    }

    /// Both services cap their memory, the soft limit below the hard one, with room for what docs/deploying.md
    /// ("Memory") measured: taskd-ws 32 MiB + 8 KiB for each of 10,000 connections, taskd-fcgi 32 MiB + a full cache
    /// of 200,000 short-named tasks at 0.3 KiB each.
    @Test func bothServicesCapTheirMemoryAboveWhatTheyWereMeasuredToNeed() throws {
        for (unit, need) in [
            ("taskd-ws.service", 32 << 20 + 10_000 * 8 << 10), ("taskd-fcgi.service", 32 << 20 + 60 << 20),
        ] {
            let settings = try Self.settings(of: unit)
            let high = try #require(settings["MemoryHigh"]?.first.flatMap(Self.bytes), "\(unit) sets no MemoryHigh=")
            let max = try #require(settings["MemoryMax"]?.first.flatMap(Self.bytes), "\(unit) sets no MemoryMax=")
            #expect(high < max, "\(unit): MemoryHigh=\(high) is not below MemoryMax=\(max)")
            #expect(high >= need, "\(unit): MemoryHigh=\(high) is below the measured need of \(need) bytes")
        }
    }

    /// `512M` → 536870912; systemd's K, M, G and T suffixes are powers of 1024.
    static func bytes(_ value: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        guard let last = value.last else { return nil }
        guard let unit = units[last] else { return Int(value) }
        return Int(value.dropLast()).map { $0 * unit }
    }

    /// Every `Name=value` line of a unit in systemd/, by name, in order.
    static func settings(of unit: String) throws -> [String: [String]] {
        let text = try String(contentsOfFile: OperationsCommand.packageRoot + "/systemd/" + unit, encoding: .utf8)
        var settings: [String: [String]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("[") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            settings[String(line[..<equals]), default: []].append(String(line[line.index(after: equals)...]))
        }
        return settings
    }

    /// `→ Overall exposure level for taskd-fcgi.service: 0.2 SAFE 😀` → 0.2
    static func overallExposure(in output: String) -> Double? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains("Overall exposure level") }),
            let colon = line.lastIndex(of: ":")
        else { return nil }
        return line[line.index(after: colon)...].split(separator: " ").first.flatMap { Double($0) }
    }
}
