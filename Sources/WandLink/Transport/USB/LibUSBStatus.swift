import CLibUSB
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reading libusb's negative status codes as transport errors.
enum LibUSBStatus {
    /// libusb's name for a status, e.g. "LIBUSB_ERROR_TIMEOUT".
    static func name(_ status: Int32) -> String {
        libusb_error_name(status).map { String(cString: $0) } ?? "libusb status \(status)"
    }

    /// The transport error for a failed libusb call.
    /// - Parameters:
    ///   - device: how the wand is named in messages.
    ///   - opening: true while opening: a device that is gone then was never
    ///     found, rather than unplugged mid-session.
    static func transportError(_ status: Int32, operation: String, device: String, opening: Bool = false)
        -> WandTransportError
    {
        switch status {
        case LIBUSB_ERROR_NO_DEVICE.rawValue:
            return opening ? .notFound(device: device) : .unplugged
        case LIBUSB_ERROR_NOT_FOUND.rawValue:
            return .notFound(device: device)
        case LIBUSB_ERROR_TIMEOUT.rawValue:
            return .timedOut
        case LIBUSB_ERROR_ACCESS.rawValue:
            return .permissionDenied(device: device)
        case LIBUSB_ERROR_BUSY.rawValue:
            return .busy(device: device)
        default:
            return .io(errno: errno(for: status), operation: "\(operation) (\(name(status)))")
        }
    }

    /// The errno closest to a libusb status, so `.io` always carries one.
    static func errno(for status: Int32) -> Int32 {
        switch status {
        case LIBUSB_ERROR_INVALID_PARAM.rawValue: return EINVAL
        case LIBUSB_ERROR_PIPE.rawValue: return EPIPE
        case LIBUSB_ERROR_OVERFLOW.rawValue: return EOVERFLOW
        case LIBUSB_ERROR_INTERRUPTED.rawValue: return EINTR
        case LIBUSB_ERROR_NO_MEM.rawValue: return ENOMEM
        case LIBUSB_ERROR_NOT_SUPPORTED.rawValue: return ENOTSUP
        default: return EIO
        }
    }
}
