import Glibc
import StateFiles
import SystemPackage

/// A fresh private folder under /tmp for one test.
func temporaryStateDirectory() -> StateDirectory {
    var template = Array("/tmp/pumpwand-test-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { $0.baseAddress.flatMap { mkdtemp($0) } }
    return StateDirectory(path: FilePath(made.map { String(cString: $0) } ?? "/tmp/pumpwand-test-fallback"))
}
