/// The version of taskd: the one place it is written. Each binary's `--version` prints it; `make deb` reads it from
/// this file for the Debian package, and a test checks that the OpenAPI document's `info.version` says the same.
public enum TaskdVersion {
    public static let current = "1.0.0"
}
