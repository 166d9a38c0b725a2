import Glibc
import SystemPackage

/// The folder where pumpctl keeps what must outlive a process: the audit
/// log, the pending command of an uncertain delivery, session reports, and
/// the simulator's pump.
public struct StateDirectory: Sendable, Equatable {
    public let path: FilePath

    public init(path: FilePath) {
        self.path = path
    }

    /// `$XDG_STATE_HOME/pumpwand`, or `~/.local/state/pumpwand` when unset,
    /// as the XDG base directory specification says.
    public static func defaultPath(environment: [String: String]) -> FilePath? {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return FilePath(state).appending("pumpwand")
        }
        guard let home = environment["HOME"], home.hasPrefix("/") else { return nil }
        return FilePath(home).appending(".local/state/pumpwand")
    }

    /// Creates the folder (and its parents) with mode 0700 when missing.
    public func create() throws(StateFileError) {
        var current = FilePath(path.root?.string ?? "")
        for component in path.components {
            current.append(component)
            if mkdir(current.string, 0o700) != 0 {
                let error = Errno(rawValue: errno)
                if error != .fileExists { throw .from(error, path: current.string, operation: "mkdir") }
            }
        }
    }

    public func file(_ name: String) -> FilePath {
        path.appending(name)
    }
}
