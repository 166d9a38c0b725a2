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

    /// Creates the folder (and its parents) with mode 0700 when missing,
    /// then checks it is safe to keep state in (`requireSafe`).
    public func create() throws(StateFileError) {
        var current = FilePath(path.root?.string ?? "")
        for component in path.components {
            current.append(component)
            if mkdir(current.string, 0o700) != 0 {
                let error = Errno(rawValue: errno)
                if error != .fileExists { throw .from(error, path: current.string, operation: "mkdir") }
            }
        }
        try Self.requireSafe(path)
    }

    /// Refuses a folder another user could change, as ssh refuses a
    /// `~/.ssh` others can write to: it must belong to this process's user
    /// (or root) and be neither group- nor world-writable. Anyone who can
    /// write into the folder can plant a link, a FIFO or a forged record
    /// where pumpctl will open one, whatever care each open takes.
    ///
    /// The folder is opened and checked through its descriptor (fstat), so
    /// what is checked is what the path names at that moment.
    public static func requireSafe(_ folder: FilePath) throws(StateFileError) {
        let target = folder.isEmpty ? FilePath(".") : folder
        let fd = open(target.string, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            let error = Errno(rawValue: errno)
            if error == .notDirectory, let kind = AtomicFile.kind(of: target) {
                throw .notDirectory(path: target.string, kind: kind)
            }
            throw .from(error, path: target.string, operation: "open folder")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .from(Errno(rawValue: errno), path: target.string, operation: "fstat folder") }
        guard info.st_uid == geteuid() || info.st_uid == 0 else {
            throw .unsafeDirectory(path: target.string, problem: .ownedByAnotherUser(owner: info.st_uid))
        }
        let mode = UInt16(info.st_mode & 0o7777)
        guard mode & 0o022 == 0 else {
            throw .unsafeDirectory(path: target.string, problem: .writableByOthers(mode: mode))
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
        if !creating {
            // Nothing to read when the state directory is missing; when it
            // is there it must be safe before anything inside is trusted.
            guard AtomicFile.exists(path) else { return nil }
            try Self.requireSafe(path)
        }
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
        try Self.requireSafe(folder)
        return folder
    }
}
