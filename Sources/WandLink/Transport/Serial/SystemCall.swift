import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The funnel every C call in this folder goes through, as in swift-system:
/// a `-1` return becomes the `Errno` it set, and a call interrupted by a
/// signal is retried instead of surfacing EINTR as a failure.
@discardableResult
package func systemCall(_ body: () -> Int32) throws(Errno) -> Int32 {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        throw Errno(rawValue: code)
    }
}

/// Same funnel for calls that return a byte count.
package func systemCall(_ body: () -> Int) throws(Errno) -> Int {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        throw Errno(rawValue: code)
    }
}
