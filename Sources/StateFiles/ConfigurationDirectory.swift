import SystemPackage

/// The folder of the user's configuration: what must NOT live beside the
/// state it protects (the audit key that MACs the audit log). Someone who
/// can replace the state directory, or restores it from a backup, does not
/// thereby hold the key.
///
/// `$PUMPWAND_CONFIG_DIR` when set (tests, and the `--config-dir` option,
/// which sets the same name), else `$XDG_CONFIG_HOME/pumpwand`, else
/// `~/.config/pumpwand`, as the XDG base directory specification says. It
/// is created 0700 and checked as the state directory is (`StateDirectory`).
public enum ConfigurationDirectory {
    public static let environmentVariable = "PUMPWAND_CONFIG_DIR"

    /// The folder, or nil when the environment names none (no absolute
    /// `PUMPWAND_CONFIG_DIR`, `XDG_CONFIG_HOME` or `HOME`).
    public static func resolve(environment: [String: String]) -> StateDirectory? {
        if let explicit = environment[environmentVariable], explicit.hasPrefix("/") {
            return StateDirectory(path: FilePath(explicit))
        }
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") {
            return StateDirectory(path: FilePath(config).appending("pumpwand"))
        }
        guard let home = environment["HOME"], home.hasPrefix("/") else { return nil }
        return StateDirectory(path: FilePath(home).appending(".config/pumpwand"))
    }
}
