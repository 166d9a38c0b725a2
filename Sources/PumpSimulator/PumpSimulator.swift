/// PumpSimulator: the pump's and the wand's side of the protocol, for demos,
/// tests and firmware comparison. Never used unless asked for.
enum PumpSimulatorModule {}
