import Foundation
import Testing

/// One version and one licence everywhere: the version is written once (Sources/TaskAPI/TaskdVersion.swift); each
/// binary's `--version`, the Makefile that feeds the Debian package, and every API document's `info` must agree.
@Suite(.timeLimit(.minutes(1)))
struct OperationsVersionTests {
    /// What `make version` prints: the version `make deb` writes into the package.
    static func packageVersion() async throws -> String {
        let make = OperationsCommand.which("make") ?? "/usr/bin/make"
        let result = try await OperationsCommand.run(
            make, ["-s", "--no-print-directory", "-C", OperationsCommand.packageRoot, "version"])
        try #require(result.status == 0, "\(result)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `info.version`, `info.license.name` and its SPDX `identifier` of every API document in openapi/ (OpenAPI and
    /// AsyncAPI alike; AsyncAPI has no `identifier`, so there the name stands for it).
    static func documentInfos() async throws -> [String: [String]] {
        let directory = OperationsCommand.packageRoot + "/openapi"
        let documents = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasSuffix(".yaml") || $0.hasSuffix(".yml")
        }
        var infos: [String: [String]] = [:]
        for document in documents {
            let python = OperationsCommand.which("python3") ?? "/usr/bin/python3"
            let script = """
                import sys, yaml
                info = yaml.safe_load(open(sys.argv[1]))["info"]
                licence = info["license"]
                print(info["version"]); print(licence["name"]); print(licence.get("identifier", licence["name"]))
                """
            let result = try await OperationsCommand.run(python, ["-c", script, directory + "/" + document])
            try #require(result.status == 0, "\(document): \(result)")
            infos[document] = result.stdout.split(separator: "\n").map(String.init)
        }
        return infos
    }

    @Test func everyBinaryPrintsThePackageVersion() async throws {
        let version = try await Self.packageVersion()
        #expect(version.wholeMatch(of: /[0-9]+\.[0-9]+\.[0-9]+/) != nil, "make version printed \(version)")
        for binary in ["taskd-fcgi", "taskd-ws", "taskctl"] {
            let result = try await OperationsCommand.run(OperationsCommand.binDirectory + "/" + binary, ["--version"])
            #expect(result.status == 0, "\(binary): \(result)")
            #expect(result.stdout == version + "\n", "\(binary) --version: \(result)")
        }
    }

    @Test func apiDocumentsStateTheVersionAndTheLicence() async throws {
        let version = try await Self.packageVersion()
        let infos = try await Self.documentInfos()
        #expect(infos["openapi.yaml"] != nil, "documents: \(infos.keys.sorted())")
        for (document, info) in infos {
            #expect(info == [version, "Apache-2.0", "Apache-2.0"], "\(document): info \(info), version \(version)")
        }
    }

    @Test func licenceIsApache2InTheRepositoryAndThePackage() throws {
        let root = OperationsCommand.packageRoot
        let licence = try String(contentsOfFile: root + "/LICENSE", encoding: .utf8)
        #expect(licence.contains("Apache License\n                           Version 2.0, January 2004"))
        #expect(licence.contains("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION"))
        let copyright = try String(contentsOfFile: root + "/debian/copyright", encoding: .utf8)
        #expect(copyright.contains("Files: *\nCopyright: "), "debian/copyright has no Files: * paragraph")
        let licences = copyright.split(separator: "\n").filter { $0.hasPrefix("License: ") }
        #expect(licences == ["License: Apache-2.0", "License: Apache-2.0"], "\(licences)")
    }
}
