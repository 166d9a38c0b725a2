import GRDB

extension AuditChain.StoredRow {
    /// The columns `init(row:)` reads, in its order, then the row's MAC
    /// (column 12): every reader that checks the chain selects these.
    static let selectedColumns = """
        sequence, time, operator, second_operator, pump_serial, command, phase, command_id, \
        parameters, outcome, overrides, previous_hash, hash
        """

    /// A row as stored, from a cursor over `selectedColumns`.
    init(row: Row) {
        self.init(
            sequence: row[0], time: row[1], operatorName: row[2], secondOperator: row[3], pumpSerial: row[4],
            command: row[5], phase: row[6], commandID: row[7], parameters: row[8], outcome: row[9],
            overrides: row[10], previousMAC: row[11])
    }
}
