import ArgumentParser
import TaskAPI

/// Command-line flags of taskd-fcgi: the shared settings plus where and how to listen. Every one is optional: an
/// absent flag leaves the `TASKD_*` variable or the default in force (see `FastCGIConfiguration.resolve`). Names and
/// help come from `SettingCatalog`.
struct FastCGIOptions: ParsableArguments {
    @OptionGroup var shared: SharedOptions

    @Option(name: SettingCatalog.fastCGISocket.name, help: SettingCatalog.fastCGISocket.help)
    var socket: String?

    @Option(name: SettingCatalog.fastCGISocketMode.name, help: SettingCatalog.fastCGISocketMode.help)
    var socketMode: String?

    @Option(name: SettingCatalog.fastCGIThreads.name, help: SettingCatalog.fastCGIThreads.help)
    var threads: Int?

    @Option(
        name: SettingCatalog.fastCGIConnectionDeadline.name, help: SettingCatalog.fastCGIConnectionDeadline.help)
    var connectionDeadline: Double?

    var overrides: ServiceSettings.Overrides { shared.overrides }
}
