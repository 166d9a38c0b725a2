import Foundation

/// The record a technician files after a programming or refill visit:
/// Markdown for the chart, and HTML with an SVG of the 24-hour dose schedule
/// and the reservoir projection.
///
/// The report is built from plain values so it can be written for any
/// workflow; the numbers in it are the ones the workflow already checked.
public struct SessionReport: Sendable, Equatable {
    /// One labelled value, e.g. ("Daily dose", "400 mcg/day").
    public struct Field: Sendable, Equatable {
        public var label: String
        public var value: String
        public init(_ label: String, _ value: String) {
            self.label = label
            self.value = value
        }
    }

    public struct Section: Sendable, Equatable {
        public var title: String
        public var fields: [Field]
        public init(title: String, fields: [Field]) {
            self.title = title
            self.fields = fields
        }
    }

    /// A schedule step: from `startSeconds` after midnight, `dosePerDay` in
    /// the prescription's dose unit.
    public struct DoseStep: Sendable, Equatable {
        public var startSeconds: Int
        public var dosePerDay: Double
        public init(startSeconds: Int, dosePerDay: Double) {
            self.startSeconds = startSeconds
            self.dosePerDay = dosePerDay
        }
    }

    /// A point of the reservoir projection: days from now, volume in mL.
    public struct ReservoirPoint: Sendable, Equatable {
        public var day: Double
        public var millilitres: Double
        public init(day: Double, millilitres: Double) {
            self.day = day
            self.millilitres = millilitres
        }
    }

    /// A signature line: who attests, in which role, with room to sign and date.
    public struct Attestation: Sendable, Equatable {
        public var role: String
        public var name: String
        public init(role: String, name: String) {
            self.role = role
            self.name = name
        }
    }

    /// What each signer attests to, above the signature lines.
    public static let attestationStatement =
        "I attest that this record is a true account of the visit, and that the pump was left as it states."

    public var title: String
    /// The sentence the scheduler must hear, e.g. "Tell the scheduler: low-reservoir alarm on 2027-02-19".
    public var headline: String
    public var sections: [Section]
    public var doseUnit: String
    public var schedule: [DoseStep]
    public var projection: [ReservoirPoint]
    public var alarmThresholdML: Double
    public var simulated: Bool
    /// Signature lines at the end of the report (operator, second provider, prescriber).
    public var attestations: [Attestation]

    public init(
        title: String, headline: String, sections: [Section], doseUnit: String, schedule: [DoseStep],
        projection: [ReservoirPoint], alarmThresholdML: Double, simulated: Bool, attestations: [Attestation] = []
    ) {
        self.title = title
        self.headline = headline
        self.sections = sections
        self.doseUnit = doseUnit
        self.schedule = schedule
        self.projection = projection
        self.alarmThresholdML = alarmThresholdML
        self.simulated = simulated
        self.attestations = attestations
    }

    public var markdown: String {
        var lines = ["# \(title)" + (simulated ? " (SIMULATED)" : ""), "", "**\(headline)**", ""]
        for section in sections {
            lines.append("## \(section.title)")
            lines.append("")
            lines.append("| | |")
            lines.append("|---|---|")
            for field in section.fields {
                lines.append("| \(escapeMarkdown(field.label)) | \(escapeMarkdown(field.value)) |")
            }
            lines.append("")
        }
        if !schedule.isEmpty {
            lines.append("## 24-hour dose schedule")
            lines.append("")
            lines.append("| from | dose rate |")
            lines.append("|---|---|")
            for step in schedule {
                lines.append("| \(clock(step.startSeconds)) | \(format(step.dosePerDay)) \(doseUnit) |")
            }
            lines.append("")
        }
        if !attestations.isEmpty {
            lines.append("## Attestation")
            lines.append("")
            lines.append(Self.attestationStatement)
            lines.append("")
            lines.append("| role | name | signature | date |")
            lines.append("|---|---|---|---|")
            for attestation in attestations {
                lines.append("| \(escapeMarkdown(attestation.role)) | \(escapeMarkdown(attestation.name)) | ____________________ | ____________ |")
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    public var html: String {
        var body = "<h1>\(escapeHTML(title))\(simulated ? " <span class=\"sim\">SIMULATED</span>" : "")</h1>\n"
        body += "<p class=\"headline\">\(escapeHTML(headline))</p>\n"
        for section in sections {
            body += "<h2>\(escapeHTML(section.title))</h2>\n<table>\n"
            for field in section.fields {
                body += "<tr><th>\(escapeHTML(field.label))</th><td>\(escapeHTML(field.value))</td></tr>\n"
            }
            body += "</table>\n"
        }
        if !schedule.isEmpty {
            body += "<h2>24-hour dose schedule</h2>\n" + scheduleChart() + "\n"
        }
        if projection.count >= 2 {
            body += "<h2>Reservoir projection</h2>\n" + projectionChart() + "\n"
        }
        if !attestations.isEmpty {
            body += "<h2>Attestation</h2>\n<p>\(escapeHTML(Self.attestationStatement))</p>\n<table class=\"sign\">\n"
            body += "<tr><th>Role</th><th>Name</th><th>Signature</th><th>Date</th></tr>\n"
            for attestation in attestations {
                body += "<tr><td>\(escapeHTML(attestation.role))</td><td>\(escapeHTML(attestation.name))</td><td class=\"line\"></td><td class=\"line\"></td></tr>\n"
            }
            body += "</table>\n"
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escapeHTML(title))</title>
            <style>body{font-family:sans-serif;max-width:60em;margin:2em auto}th{text-align:left;padding-right:2em}
            .headline{font-size:1.6em;font-weight:bold}.sim{color:#b00}
            .sign td{padding:1.2em 1em 0.2em 0}.sign td.line{border-bottom:1px solid #000;min-width:12em}</style></head>
            <body>
            \(body)</body></html>

            """
    }

    /// Step chart of dose rate over 24 hours.
    func scheduleChart() -> String {
        let width = 600.0, height = 200.0, margin = 40.0
        let top = max(schedule.map(\.dosePerDay).max() ?? 1, 1e-9) * 1.2
        let x = { (seconds: Int) in margin + Double(seconds) / 86_400 * (width - 2 * margin) }
        let y = { (dose: Double) in height - margin - dose / top * (height - 2 * margin) }
        var points: [String] = []
        let sorted = schedule.sorted { $0.startSeconds < $1.startSeconds }
        for (index, step) in sorted.enumerated() {
            let end = index + 1 < sorted.count ? sorted[index + 1].startSeconds : 86_400
            points.append("\(fmt(x(step.startSeconds))),\(fmt(y(step.dosePerDay)))")
            points.append("\(fmt(x(end))),\(fmt(y(step.dosePerDay)))")
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"24-hour dose schedule\">"
        svg += axes(width: width, height: height, margin: margin)
        for hour in stride(from: 0, through: 24, by: 6) {
            svg += "<text x=\"\(fmt(x(hour * 3600)))\" y=\"\(fmt(height - margin + 15))\" font-size=\"11\" text-anchor=\"middle\">\(hour < 10 ? "0" : "")\(hour):00</text>"
        }
        svg += "<text x=\"4\" y=\"\(fmt(margin - 10))\" font-size=\"11\">\(escapeHTML(doseUnit))</text>"
        svg += "<text x=\"4\" y=\"\(fmt(y(top / 1.2) + 4))\" font-size=\"11\">\(format(top / 1.2))</text>"
        svg += "<polyline fill=\"none\" stroke=\"#0057b7\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
        return svg + "</svg>"
    }

    /// Reservoir volume over the projection, with the alarm threshold.
    func projectionChart() -> String {
        let width = 600.0, height = 200.0, margin = 40.0
        let lastDay = max(projection.map(\.day).max() ?? 1, 1e-9)
        let top = max(projection.map(\.millilitres).max() ?? 1, alarmThresholdML, 1e-9) * 1.1
        let x = { (day: Double) in margin + day / lastDay * (width - 2 * margin) }
        let y = { (ml: Double) in height - margin - ml / top * (height - 2 * margin) }
        let points = projection.map { "\(fmt(x($0.day))),\(fmt(y($0.millilitres)))" }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"Reservoir projection\">"
        svg += axes(width: width, height: height, margin: margin)
        svg += "<line x1=\"\(fmt(margin))\" y1=\"\(fmt(y(alarmThresholdML)))\" x2=\"\(fmt(width - margin))\" y2=\"\(fmt(y(alarmThresholdML)))\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/>"
        svg += "<text x=\"\(fmt(width - margin))\" y=\"\(fmt(y(alarmThresholdML) - 4))\" font-size=\"11\" text-anchor=\"end\" fill=\"#c00\">low-reservoir alarm \(format(alarmThresholdML)) mL</text>"
        svg += "<text x=\"4\" y=\"\(fmt(margin - 10))\" font-size=\"11\">mL</text>"
        svg += "<text x=\"\(fmt(width - margin))\" y=\"\(fmt(height - margin + 15))\" font-size=\"11\" text-anchor=\"end\">day \(format(lastDay))</text>"
        svg += "<polyline fill=\"none\" stroke=\"#0057b7\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
        return svg + "</svg>"
    }

    private func axes(width: Double, height: Double, margin: Double) -> String {
        "<line x1=\"\(fmt(margin))\" y1=\"\(fmt(height - margin))\" x2=\"\(fmt(width - margin))\" y2=\"\(fmt(height - margin))\" stroke=\"#333\"/>"
            + "<line x1=\"\(fmt(margin))\" y1=\"\(fmt(margin))\" x2=\"\(fmt(margin))\" y2=\"\(fmt(height - margin))\" stroke=\"#333\"/>"
    }

    private func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    private func format(_ value: Double) -> String {
        var text = String(format: "%.3f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    private func clock(_ seconds: Int) -> String {
        String(format: "%02d:%02d", seconds / 3600, seconds % 3600 / 60)
    }

    private func escapeHTML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private func escapeMarkdown(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
