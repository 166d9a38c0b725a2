import SystemPackage
import WandLink
import WandTrace

/// `--trace FILE.pcapng`: wraps the opened transport so every frame in both
/// directions is recorded, for every command that talks to a wand.
enum TraceOption {
    /// The transport to use (the tracer, or `transport` itself without
    /// `--trace`) and the tracer when there is one. If the trace file cannot
    /// be created nothing has been sent yet: the transport is closed and
    /// the command ends with a usage error.
    static func wrap(_ transport: any WandTransport, _ global: GlobalOptions) async throws
        -> (any WandTransport, TracingTransport?) {
        guard let path = global.trace else { return (transport, nil) }
        guard !path.isEmpty else {
            await transport.close()
            throw Output.fail(CommandFailure(status: .usage, message: "--trace needs a file name."))
        }
        do {
            let tracer = try TracingTransport.recording(transport, to: FilePath(path),
                                                        application: "pumpctl \(Pumpctl.version)",
                                                        overwrite: global.traceOverwrite)
            return (tracer, tracer)
        } catch {
            await transport.close()
            throw Output.fail(CommandFailure(status: .usage, message: error.description))
        }
    }

    /// Says on stderr if the trace is incomplete; the command's own result
    /// and exit status stand (the trace is a diagnostic, not the record of
    /// the visit: the audit log is).
    static func report(_ tracer: TracingTransport?) {
        guard let tracer else { return }
        tracer.finish()
        if let failure = tracer.failure { Output.note("pumpctl: \(failure.description)") }
    }
}
