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

    /// A day marked on the reservoir projection (the alarm, the latest day to refill).
    public struct Marker: Sendable, Equatable {
        public var day: Double
        public var label: String
        public var colour: String
        public init(day: Double, label: String, colour: String = "#c00") {
            self.day = day
            self.label = label
            self.colour = colour
        }
    }

    /// What each signer attests to, above the signature lines.
    public static let attestationStatement =
        "I attest that this record is a true account of the visit, and that the pump was left as it states."

    public var title: String
    /// The sentence the scheduler must hear, e.g. "Tell the scheduler: low-reservoir alarm on 2027-02-19".
    public var headline: String
    /// A verdict that must be read before anything else (NOT VERIFIED and
    /// what to do), above the scheduler's sentence: a reader who stops at
    /// the first line must not take an unverified change for a booked visit.
    public var verdict: String?
    public var sections: [Section]
    public var doseUnit: String
    public var schedule: [DoseStep]
    /// The schedule before the visit; drawn beside `schedule` when it differs.
    public var previousSchedule: [DoseStep]
    public var markers: [Marker]
    public var projection: [ReservoirPoint]
    public var alarmThresholdML: Double
    public var simulated: Bool
    /// Signature lines at the end of the report (operator, second provider, prescriber).
    public var attestations: [Attestation]

    public init(
        title: String, headline: String, sections: [Section], doseUnit: String, schedule: [DoseStep],
        projection: [ReservoirPoint], alarmThresholdML: Double, simulated: Bool, attestations: [Attestation] = [],
        previousSchedule: [DoseStep] = [], markers: [Marker] = [], verdict: String? = nil
    ) {
        self.verdict = verdict
        self.previousSchedule = previousSchedule
        self.markers = markers
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
        var lines = ["# \(escapeMarkdown(title))" + (simulated ? " (SIMULATED)" : ""), ""]
        if let verdict { lines += ["**\(escapeMarkdown(verdict))**", ""] }
        lines += ["**\(escapeMarkdown(headline))**", ""]
        for section in sections {
            lines.append("## \(escapeMarkdown(section.title))")
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
        var body = ""
        if simulated {
            // Fixed in print: Chromium repeats it on every printed page, so
            // a page that comes loose is still marked.
            body += "<div class=\"watermark\" aria-hidden=\"true\">SIMULATED</div>\n"
            body += "<p class=\"sim-banner\">SIMULATED: a training record from the simulator, not a patient's.</p>\n"
        }
        body += "<h1>\(escapeHTML(title))\(simulated ? " <span class=\"sim\">SIMULATED</span>" : "")</h1>\n"
        if let verdict { body += "<p class=\"headline verdict\">\(escapeHTML(verdict))</p>\n" }
        body += "<p class=\"headline\">\(escapeHTML(headline))</p>\n<div class=\"sections\">\n"
        for section in sections {
            body += "<section><h2>\(escapeHTML(section.title))</h2>\n<table>\n"
            for field in section.fields {
                body += "<tr><th>\(escapeHTML(field.label))</th><td>\(escapeHTML(field.value))</td></tr>\n"
            }
            body += "</table></section>\n"
        }
        body += "</div>\n<div class=\"charts\">\n"
        if !schedule.isEmpty {
            body += "<figure><h2>24-hour dose schedule</h2>\n" + scheduleChart() + "</figure>\n"
        }
        if projection.count >= 2 {
            body += "<figure><h2>Reservoir projection</h2>\n" + projectionChart() + "</figure>\n"
        }
        body += "</div>\n"
        if !attestations.isEmpty {
            body += "<section class=\"attest\"><h2>Attestation</h2>\n<p>\(escapeHTML(Self.attestationStatement))</p>\n<table class=\"sign\">\n"
            body += "<tr><th>Role</th><th>Name</th><th>Signature</th><th>Date</th></tr>\n"
            for attestation in attestations {
                body += "<tr><td>\(escapeHTML(attestation.role))</td><td>\(escapeHTML(attestation.name))</td><td class=\"line\"></td><td class=\"line\"></td></tr>\n"
            }
            body += "</table></section>\n"
        }
        // The page's margin boxes repeat on every printed page: the title
        // (which pump), SIMULATED when it is, and "page N of M", so a
        // missing page shows.
        let marginTop = simulated ? "@top-center{content:\"SIMULATED \\2014  not a patient\\27 s record\";color:#b00;font:bold 9pt sans-serif}" : ""
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escapeHTML(title))\(simulated ? " (SIMULATED)" : "")</title>
            <style>
            body{font-family:sans-serif;max-width:64em;margin:1.5em auto;font-size:10pt}
            h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.05em;margin:.6em 0 .2em}
            th{text-align:left;padding-right:1.5em;font-weight:600;vertical-align:top;white-space:nowrap}td{overflow-wrap:anywhere}
            table{border-collapse:collapse}tr{border-bottom:1px solid #ddd}
            .headline{font-size:1.3em;font-weight:bold;margin:.2em 0}.sim{color:#b00}
            .sim-banner{color:#b00;font-weight:bold;border:2px solid #b00;padding:.2em .5em;margin:0 0 .4em}
            .watermark{display:none}
            .sections{column-width:26em;column-gap:2em}section{break-inside:avoid}
            .charts{display:flex;gap:1.5em;flex-wrap:wrap}.charts figure{margin:0;flex:1 1 20em}.charts svg{width:100%;height:auto}
            .sign td{padding:1.2em 1em 0.2em 0}.sign td.line{border-bottom:1px solid #000;min-width:12em}
            @page{size:A4;margin:14mm 12mm 12mm 12mm;\(marginTop)
            @bottom-left{content:"\(escapeCSS(title))";font:8pt sans-serif}
            @bottom-right{content:"page " counter(page) " of " counter(pages);font:8pt sans-serif}}
            @media print{
            body{max-width:none;margin:0;font-size:8pt;line-height:1.25}
            h1{font-size:13pt}h2{font-size:9pt;margin:.35em 0 .1em}.headline{font-size:10pt}
            .sim-banner{display:none}
            .watermark{display:block;position:fixed;top:40%;left:0;right:0;text-align:center;font:bold 72pt sans-serif;
            color:rgba(187,0,0,.10);transform:rotate(-30deg);z-index:-1}
            .sections{column-count:2;column-width:auto;column-gap:6mm}
            section,figure,table,tr{break-inside:avoid}
            th,td{padding:0 .8em 0 0}
            .charts{flex-wrap:nowrap;gap:6mm}.charts figure{flex:1 1 0}
            .sign td{padding:.9em 1em .1em 0}
            }
            </style></head>
            <body>
            \(body)</body></html>

            """
    }

    /// A label drawn on a chart: its text and the box it takes, in SVG units.
    struct ChartLabel {
        var text: String
        var x: Double
        var y: Double
        var anchor: String
        var fontSize: Double
        var colour: String

        /// The box the text takes: 0.65 em per character (wider than the
        /// average sans-serif glyph), ascent 0.8 em, descent 0.25 em.
        var box: (minX: Double, minY: Double, maxX: Double, maxY: Double) {
            let width = Double(text.count) * fontSize * 0.65
            let left = anchor == "end" ? x - width : anchor == "middle" ? x - width / 2 : x
            return (left, y - fontSize * 0.8, left + width, y + fontSize * 0.25)
        }
    }

    /// The first of `candidates` whose box (with a 2-unit margin) no
    /// segment of `lines` crosses and no placed label overlaps, else the
    /// last candidate: a label the line runs through cannot be read.
    static func place(_ candidates: [ChartLabel], avoiding lines: [[(Double, Double)]], placed: [ChartLabel]) -> ChartLabel {
        for candidate in candidates {
            let b = candidate.box
            let box = (b.minX - 2, b.minY - 2, b.maxX + 2, b.maxY + 2)
            let crossed = lines.contains { points in
                zip(points, points.dropFirst()).contains { segment($0, $1, crosses: box) }
            }
            let overlaps = placed.contains { other in
                let o = other.box
                return o.minX < box.2 && box.0 < o.maxX && o.minY < box.3 && box.1 < o.maxY
            }
            if !crossed && !overlaps { return candidate }
        }
        return candidates[candidates.count - 1]
    }

    /// Whether the segment from `a` to `b` meets the box (Liang-Barsky clipping).
    static func segment(_ a: (Double, Double), _ b: (Double, Double),
                        crosses box: (Double, Double, Double, Double)) -> Bool {
        let dx = b.0 - a.0, dy = b.1 - a.1
        var low = 0.0, high = 1.0
        for (p, q) in [(-dx, a.0 - box.0), (dx, box.2 - a.0), (-dy, a.1 - box.1), (dy, box.3 - a.1)] {
            if p == 0 {
                if q < 0 { return false }
            } else {
                let t = q / p
                if p < 0 { low = max(low, t) } else { high = min(high, t) }
                if low > high { return false }
            }
        }
        return true
    }

    /// A step of 1, 2 or 5 times a power of ten that cuts `0...top` into at most about five ticks.
    static func tickStep(_ top: Double) -> Double {
        guard top > 0, top.isFinite else { return 1 }
        let raw = top / 5
        let power = pow(10, floor(log10(raw)))
        for factor in [1.0, 2, 5, 10] where factor * power >= raw { return factor * power }
        return 10 * power
    }

    private struct Plot {
        let width = 360.0, height = 196.0, left = 46.0, right = 12.0, top = 22.0, bottom = 34.0
        var xMax: Double
        var yMax: Double
        func x(_ value: Double) -> Double { left + value / xMax * (width - left - right) }
        func y(_ value: Double) -> Double { height - bottom - value / yMax * (height - top - bottom) }
    }

    /// Axes with ticks, tick labels and the axis titles with their units.
    private func axes(_ plot: Plot, xTicks: [(Double, String)], yStep: Double, xTitle: String, yTitle: String) -> String {
        var svg = "<g class=\"axes\" stroke=\"#333\">"
        svg += line(plot.left, plot.height - plot.bottom, plot.width - plot.right, plot.height - plot.bottom)
        svg += line(plot.left, plot.top, plot.left, plot.height - plot.bottom) + "</g>"
        for (value, label) in xTicks {
            let x = plot.x(value)
            svg += "<line class=\"tick x\" x1=\"\(fmt(x))\" y1=\"\(fmt(plot.height - plot.bottom))\" x2=\"\(fmt(x))\" y2=\"\(fmt(plot.height - plot.bottom + 4))\" stroke=\"#333\"/>"
            svg += "<text class=\"tick-label x\" x=\"\(fmt(x))\" y=\"\(fmt(plot.height - plot.bottom + 13))\" font-size=\"9\" text-anchor=\"middle\">\(escapeHTML(label))</text>"
        }
        var value = 0.0
        while value <= plot.yMax + yStep * 1e-9 {
            let y = plot.y(value)
            svg += "<line class=\"tick y\" x1=\"\(fmt(plot.left - 4))\" y1=\"\(fmt(y))\" x2=\"\(fmt(plot.left))\" y2=\"\(fmt(y))\" stroke=\"#333\"/>"
            svg += "<line class=\"grid\" x1=\"\(fmt(plot.left))\" y1=\"\(fmt(y))\" x2=\"\(fmt(plot.width - plot.right))\" y2=\"\(fmt(y))\" stroke=\"#eee\"/>"
            svg += "<text class=\"tick-label y\" x=\"\(fmt(plot.left - 6))\" y=\"\(fmt(y + 3))\" font-size=\"9\" text-anchor=\"end\">\(format(value))</text>"
            value += yStep
        }
        svg += "<text class=\"axis-title x\" x=\"\(fmt((plot.left + plot.width - plot.right) / 2))\" y=\"\(fmt(plot.height - 4))\" font-size=\"9\" text-anchor=\"middle\">\(escapeHTML(xTitle))</text>"
        svg += "<text class=\"axis-title y\" x=\"4\" y=\"\(fmt(plot.top - 10))\" font-size=\"9\">\(escapeHTML(yTitle))</text>"
        return svg
    }

    private func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double) -> String {
        "<line x1=\"\(fmt(x1))\" y1=\"\(fmt(y1))\" x2=\"\(fmt(x2))\" y2=\"\(fmt(y2))\"/>"
    }

    private func text(_ label: ChartLabel, role: String) -> String {
        "<text class=\"label \(role)\" x=\"\(fmt(label.x))\" y=\"\(fmt(label.y))\" font-size=\"\(fmt(label.fontSize))\" text-anchor=\"\(label.anchor)\" fill=\"\(label.colour)\">\(escapeHTML(label.text))</text>"
    }

    private func polyline(_ points: [(Double, Double)], role: String, colour: String, dashed: Bool) -> String {
        "<polyline class=\"\(role)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"\(dashed ? "1.5" : "2")\"\(dashed ? " stroke-dasharray=\"5 3\"" : "") points=\"\(points.map { "\(fmt($0.0)),\(fmt($0.1))" }.joined(separator: " "))\"/>"
    }

    /// The average dose per day of a 24-hour schedule.
    static func averageDose(_ steps: [DoseStep]) -> Double {
        let sorted = steps.sorted { $0.startSeconds < $1.startSeconds }
        var total = 0.0
        for (index, step) in sorted.enumerated() {
            let end = index + 1 < sorted.count ? sorted[index + 1].startSeconds : 86_400
            total += step.dosePerDay * Double(max(0, end - max(0, step.startSeconds)))
        }
        return total / 86_400
    }

    /// Step chart of dose rate over 24 hours; with the schedule before the
    /// visit, when it differs, dashed beside the new one.
    func scheduleChart() -> String {
        let showsOld = !previousSchedule.isEmpty && previousSchedule != schedule
        let highest = (schedule + (showsOld ? previousSchedule : [])).map(\.dosePerDay).max() ?? 0
        let step = Self.tickStep(max(highest, 1e-9) * 1.25)
        var plot = Plot(xMax: 86_400, yMax: 1)
        plot.yMax = max(step, (max(highest, 1e-9) * 1.25 / step).rounded(.up) * step)
        func points(_ steps: [DoseStep]) -> [(Double, Double)] {
            let sorted = steps.sorted { $0.startSeconds < $1.startSeconds }
            var points: [(Double, Double)] = []
            for (index, step) in sorted.enumerated() {
                let end = index + 1 < sorted.count ? sorted[index + 1].startSeconds : 86_400
                points.append((plot.x(Double(step.startSeconds)), plot.y(step.dosePerDay)))
                points.append((plot.x(Double(end)), plot.y(step.dosePerDay)))
            }
            return points
        }
        let new = points(schedule), old = showsOld ? points(previousSchedule) : []
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(plot.width)) \(Int(plot.height))\" width=\"\(Int(plot.width))\" height=\"\(Int(plot.height))\" role=\"img\" aria-label=\"24-hour dose schedule\">"
        svg += axes(plot, xTicks: stride(from: 0, through: 24, by: 6).map { (Double($0 * 3600), "\($0 < 10 ? "0" : "")\($0):00") },
                    yStep: step, xTitle: "time of day (h)", yTitle: doseUnit)
        if showsOld { svg += polyline(old, role: "dose old", colour: "#777", dashed: true) }
        svg += polyline(new, role: "dose new", colour: "#0057b7", dashed: false)
        // The legend says which line is which, with each one's daily dose,
        // where neither line runs through it.
        var placed: [ChartLabel] = []
        let legends = (showsOld ? [("before: \(format(Self.averageDose(previousSchedule))) \(doseUnit)", "#555", "legend old")] : [])
            + [((showsOld ? "after: " : "") + "\(format(Self.averageDose(schedule))) \(doseUnit)", "#0057b7", "legend new")]
        for (words, colour, role) in legends {
            let rows = stride(from: plot.top + 10, through: plot.height - plot.bottom - 4, by: 11).map { $0 }
            let candidates = rows.flatMap { y in
                [ChartLabel(text: words, x: plot.width - plot.right - 2, y: y, anchor: "end", fontSize: 9, colour: colour),
                 ChartLabel(text: words, x: plot.left + 4, y: y, anchor: "start", fontSize: 9, colour: colour)]
            }
            let label = Self.place(candidates, avoiding: [new, old], placed: placed)
            placed.append(label)
            svg += text(label, role: role)
        }
        return svg + "</svg>"
    }

    /// Reservoir volume over the projection, with the alarm threshold and
    /// the marked days (the alarm, the latest refill); no label is placed
    /// where the line runs through it.
    func projectionChart() -> String {
        let lastDay = max(projection.map(\.day).max() ?? 1, 1e-9)
        let highest = max(projection.map(\.millilitres).max() ?? 1, alarmThresholdML, 1e-9) * 1.1
        let yStep = Self.tickStep(highest)
        let plot = Plot(xMax: lastDay, yMax: max(yStep, (highest / yStep).rounded(.up) * yStep))
        let xStep = Self.tickStep(lastDay)
        let points = projection.map { (plot.x($0.day), plot.y($0.millilitres)) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(plot.width)) \(Int(plot.height))\" width=\"\(Int(plot.width))\" height=\"\(Int(plot.height))\" role=\"img\" aria-label=\"Reservoir projection\">"
        svg += axes(plot, xTicks: stride(from: 0, through: lastDay + xStep * 1e-9, by: xStep).map { ($0, format($0)) },
                    yStep: yStep, xTitle: "days from this visit", yTitle: "reservoir (mL)")
        let threshold = plot.y(alarmThresholdML)
        let thresholdLine = [(plot.left, threshold), (plot.width - plot.right, threshold)]
        svg += "<line class=\"threshold\" x1=\"\(fmt(plot.left))\" y1=\"\(fmt(threshold))\" x2=\"\(fmt(plot.width - plot.right))\" y2=\"\(fmt(threshold))\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/>"
        var markerLines: [[(Double, Double)]] = []
        for marker in markers where marker.day >= 0 && marker.day <= lastDay {
            let x = plot.x(marker.day)
            markerLines.append([(x, plot.top), (x, plot.height - plot.bottom)])
            svg += "<line class=\"marker\" x1=\"\(fmt(x))\" y1=\"\(fmt(plot.top))\" x2=\"\(fmt(x))\" y2=\"\(fmt(plot.height - plot.bottom))\" stroke=\"\(marker.colour)\" stroke-dasharray=\"2 2\"/>"
        }
        svg += polyline(points, role: "reservoir", colour: "#0057b7", dashed: false)
        var placed: [ChartLabel] = []
        let alarmText = "low-reservoir alarm \(format(alarmThresholdML)) mL"
        // Right end, left end, middle; above the threshold line, then below.
        let spots: [(x: Double, anchor: String)] = [(plot.width - plot.right - 2, "end"), (plot.left + 4, "start"),
                                                    ((plot.left + plot.width - plot.right) / 2, "middle")]
        var alarmCandidates: [ChartLabel] = []
        for spot in spots {
            for y in [threshold - 4, threshold + 11] {
                alarmCandidates.append(ChartLabel(text: alarmText, x: spot.x, y: y, anchor: spot.anchor, fontSize: 9, colour: "#c00"))
            }
        }
        let alarm = Self.place(alarmCandidates, avoiding: [points] + markerLines, placed: placed)
        placed.append(alarm)
        svg += text(alarm, role: "alarm")
        for marker in markers where marker.day >= 0 && marker.day <= lastDay {
            let x = plot.x(marker.day)
            let rows = stride(from: plot.top + 9, through: plot.height - plot.bottom - 4, by: 10).map { $0 }
            let candidates = rows.flatMap { y in
                [ChartLabel(text: marker.label, x: x - 3, y: y, anchor: "end", fontSize: 8, colour: marker.colour),
                 ChartLabel(text: marker.label, x: x + 3, y: y, anchor: "start", fontSize: 8, colour: marker.colour)]
            }.filter { $0.box.minX >= 0 && $0.box.maxX <= plot.width }
            guard !candidates.isEmpty else { continue }
            // Another day's dashed line may run through it (two days a few
            // days apart leave no room between them); the reservoir line
            // and the threshold may not.
            let label = Self.place(candidates, avoiding: [points, thresholdLine], placed: placed)
            placed.append(label)
            svg += text(label, role: "marker-label")
        }
        return svg + "</svg>"
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

    /// Text inside a CSS string: quotes, backslashes, line ends and `<`
    /// (which could end the style element) as CSS escapes.
    private func escapeCSS(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "<", ">", "&": out += "\\" + String(scalar.value, radix: 16) + " "
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f { out += "\\" + String(scalar.value, radix: 16) + " " } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// Markdown passes raw HTML through to whatever renders it: a name
    /// such as `<img src=x onerror=...>` must show as text, as in the HTML
    /// report, so `&` and `<` become entities (rendered as themselves). A
    /// lone `>` opens no tag, and the report's own "12mL -> 18mL" stays
    /// readable in the file.
    private func escapeMarkdown(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
