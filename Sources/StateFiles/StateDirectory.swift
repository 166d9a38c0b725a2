import Glibc
import SystemPackage

/// The folder where pumpctl keeps what must outlive a process: the audit
/// log, the pending commands of uncertain deliveries, session reports, and
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

    /// The folder `name` inside the state directory, for records kept one
    /// file each (`pending/`). With `creating`, it (and the state directory)
    /// is made with mode 0700 when missing; without, a missing folder is nil.
    ///
    /// A symbolic link or anything but a folder there is refused with
    /// `.notDirectory`: records must not be read from or written to a place
    /// the link points at.
    public func subdirectory(_ name: String, creating: Bool) throws(StateFileError) -> FilePath? {
        let folder = path.appending(name)
        if creating {
            try create()
            if mkdir(folder.string, 0o700) != 0 {
                let error = Errno(rawValue: errno)
                if error != .fileExists { throw .from(error, path: folder.string, operation: "mkdir") }
            } else {
                // The new name must be durable before records are written into it.
                try AtomicFile.syncDirectory(path)
            }
        }
        guard let kind = AtomicFile.kind(of: folder) else {
            if creating { throw .notFound(path: folder.string) }
            return nil
        }
        guard kind == .directory else { throw .notDirectory(path: folder.string, kind: kind) }
        return folder
    }
}
