/// PumpProgrammer: the technician's workflows (interrogate, program, refill,
/// bolus), uncertain-delivery tracking and the audit log.
enum PumpProgrammerModule {}
