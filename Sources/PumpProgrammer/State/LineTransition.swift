import Therapy

extension LineTransition {
    /// The transition of a pump as it reports itself now.
    init(ahead: [FluidPath.Segment], status: PumpStatus) {
        let profile = status.profile ?? .rp20
        let outgoingDose = status.outgoingPrescription.flatMap { try? $0.dosePlan(on: profile).averagePrescribedDose }
        self = Self.figure(ahead: ahead, reservoir: status.reservoirContents, dose: status.dailyDose, outgoingDose: outgoingDose,
                           volumeRate: status.rate, from: status.hostClock)
    }
}
