import Therapy

extension LineTransition {
    /// The transition of a pump as it reports itself now.
    init(ahead: [FluidPath.Segment], status: PumpStatus) {
        let profile = status.profile ?? .rp20
        // A pump that does not deliver pushes nothing out: no stretch has a time.
        let delivering = status.notDelivering == nil
        let outgoingDose = delivering ? status.outgoingPrescription.flatMap { try? $0.dosePlan(on: profile).averagePrescribedDose } : nil
        self = Self.figure(ahead: ahead, reservoir: status.reservoirContents, dose: delivering ? status.dailyDose : .zero,
                           outgoingDose: outgoingDose, volumeRate: delivering ? status.rate : .zero, from: status.hostClock)
    }
}
