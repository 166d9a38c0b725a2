import StateFiles
import SystemPackage
import TestSupport

extension TemporaryDirectory {
    /// The folder as a state (or configuration) directory; it goes with
    /// the TemporaryDirectory that owns it, so hold that for as long.
    var state: StateDirectory { StateDirectory(path: FilePath(path)) }
}
