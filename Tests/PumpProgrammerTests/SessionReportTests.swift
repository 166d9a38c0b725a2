import Therapy
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import PumpProgrammer

@Suite struct SessionReportTests {
    let report = SessionReport(
        title: "Refill and reprogram, pump RP20-000001",
        headline: "Tell the scheduler: low-reservoir alarm on 2027-02-19",
        sections: [.init(title: "Pending", fields: [.init("Daily dose", "400 mcg/day"), .init("Note", "a <b> | c")])],
        doseUnit: "mcg/day",
        schedule: [.init(startSeconds: 0, dosePerDay: 300), .init(startSeconds: 7 * 3600, dosePerDay: 500),
                   .init(startSeconds: 22 * 3600, dosePerDay: 300)],
        projection: [.init(day: 0, millilitres: 18), .init(day: 40, millilitres: 2), .init(day: 45, millilitres: 0)],
        alarmThresholdML: 2, simulated: true)

    @Test func markdownHasTheHeadlineFieldsAndSchedule() {
        let text = report.markdown
        #expect(text.hasPrefix("# Refill and reprogram, pump RP20-000001 (SIMULATED)"))
        #expect(text.contains("**Tell the scheduler: low-reservoir alarm on 2027-02-19**"))
        #expect(text.contains("| Daily dose | 400 mcg/day |"))
        // A pipe in a value must not split the table cell, and HTML in a
        // value is text, never markup passed through to a renderer.
        #expect(text.contains("| Note | a &lt;b> \\| c |"))
        #expect(!text.contains("<b>"))
        #expect(text.contains("| 07:00 | 500 mcg/day |"))
    }

    @Test func markdownKeepsNoRawHTMLFromANameOrTitle() {
        var hostile = report
        hostile.title = "pump <img src=x onerror=alert(1)>"
        hostile.attestations = [.init(role: "operator", name: "<img src=x onerror=alert(1)>")]
        let text = hostile.markdown
        #expect(!text.contains("<img"), "\(text)")
        #expect(text.contains("&lt;img src=x onerror=alert(1)>"))
    }

    @Test func htmlEscapesValuesAndDrawsBothCharts() throws {
        let html = report.html
        #expect(html.contains("a &lt;b&gt; | c"))
        #expect(!html.contains("a <b>"))
        #expect(html.components(separatedBy: "<svg").count == 3)
        // 07:00 to 22:00 at 500 mcg/day: x = 46 + 7/24 x 302 = 134.1; the
        // axis tops at 800 (ticks of 200 above 1.25 x 500), so
        // y = 196 - 34 - 500/800 x 140 = 74.5.
        let chart = try ChartSVG(report.scheduleChart())
        let new = try #require(chart.polylines["dose new"])
        #expect(new.contains { abs($0.0 - 134.08) < 0.1 && abs($0.1 - 74.5) < 0.1 }, "\(new)")
        #expect(html.contains("low-reservoir alarm 2 mL"))
    }

    @Test func printStylesAreA4OnePageSectionsAndSimulatedOnEveryPage() {
        let html = report.html
        #expect(html.contains("@page{size:A4"))
        #expect(html.contains("break-inside:avoid"))
        // The margin box repeats on every printed page; the watermark is fixed.
        #expect(html.contains("@top-center{content:\"SIMULATED"))
        #expect(html.contains("<div class=\"watermark\" aria-hidden=\"true\">SIMULATED</div>"))
        #expect(html.contains("<title>Refill and reprogram, pump RP20-000001 (SIMULATED)</title>"))
        var real = report
        real.simulated = false
        #expect(!real.html.contains("SIMULATED"), "a real visit's report is not marked simulated")
    }

    @Test func aTitleCannotBreakOutOfTheStyleSheet() {
        var hostile = report
        hostile.title = "RP20\"}</style><script>x</script>"
        let html = hostile.html
        #expect(!html.contains("</style><script>"))
        #expect(html.contains("@bottom-left{content:\"RP20\\\"}\\3c /style\\3e \\3c script\\3e x\\3c /script\\3e \""))
    }

    @Test func bothChartsHaveTicksWithLabelsAndAxisTitlesWithUnits() throws {
        let schedule = try ChartSVG(report.scheduleChart())
        #expect(schedule.lines(class: "tick x").count == 5, "00:00, 06:00, 12:00, 18:00, 24:00")
        #expect(schedule.texts(class: "tick-label x").map(\.text) == ["00:00", "06:00", "12:00", "18:00", "24:00"])
        #expect(schedule.texts(class: "tick-label y").map(\.text) == ["0", "200", "400", "600", "800"])
        #expect(schedule.lines(class: "tick y").count == 5)
        #expect(schedule.texts(class: "axis-title y").map(\.text) == ["mcg/day"])
        #expect(schedule.texts(class: "axis-title x").map(\.text) == ["time of day (h)"])
        let projection = try ChartSVG(report.projectionChart())
        #expect(projection.texts(class: "tick-label x").map(\.text) == ["0", "10", "20", "30", "40"])
        #expect(projection.texts(class: "tick-label y").map(\.text) == ["0", "5", "10", "15", "20"])
        #expect(projection.texts(class: "axis-title y").map(\.text) == ["reservoir (mL)"])
        #expect(projection.texts(class: "axis-title x").map(\.text) == ["days from this visit"])
    }

    @Test func aProgrammingChangeDrawsTheOldAndTheNewDoseWithTheirDailyDoses() throws {
        var change = report
        change.previousSchedule = [.init(startSeconds: 0, dosePerDay: 400)]
        let chart = try ChartSVG(change.scheduleChart())
        #expect(chart.polylines["dose old"] != nil, "the dose before the visit")
        #expect(chart.polylines["dose new"] != nil)
        // (300 x 7 + 500 x 15 + 300 x 2) / 24 = 425 mcg/day after.
        #expect(chart.texts(class: "label legend old").map(\.text) == ["before: 400 mcg/day"])
        #expect(chart.texts(class: "label legend new").map(\.text) == ["after: 425 mcg/day"])
        // Unchanged: one line, no before and after.
        var same = report
        same.previousSchedule = report.schedule
        let one = try ChartSVG(same.scheduleChart())
        #expect(one.polylines["dose old"] == nil)
        #expect(one.texts(class: "label legend new").map(\.text) == ["425 mcg/day"])
        for chart in [chart, one] {
            for label in chart.texts(class: "label") {
                for (role, line) in chart.polylines {
                    #expect(!ChartSVG.crosses(line, label), "the \(role) line runs through \"\(label.text)\"")
                }
            }
        }
    }

    @Test func noLineRunsThroughTheAlarmLabelOrTheMarkedDays() throws {
        // The reservoir reaches the threshold near the right end, where the
        // alarm label used to be drawn; with the days marked.
        var marked = report
        marked.markers = [.init(day: 40, label: "alarm 2027-02-24"), .init(day: 36, label: "refill by 2027-02-20")]
        for candidate in [report, marked] {
            let chart = try ChartSVG(candidate.projectionChart())
            let line = try #require(chart.polylines["reservoir"])
            let alarm = try #require(chart.texts(class: "label alarm").first)
            #expect(alarm.text == "low-reservoir alarm 2 mL")
            #expect(!ChartSVG.crosses(line, alarm), "the reservoir line runs through the alarm label at \(alarm.x),\(alarm.y)")
            for label in chart.texts(class: "label marker-label") {
                #expect(!ChartSVG.crosses(line, label), "the reservoir line runs through \"\(label.text)\"")
            }
        }
        let chart = try ChartSVG(marked.projectionChart())
        #expect(chart.texts(class: "label marker-label").map(\.text) == ["alarm 2027-02-24", "refill by 2027-02-20"])
        #expect(chart.lines(class: "marker").count == 2)
    }

    @Test func theBookingDateIsTheDayBeforeTheLatestDayToRefillWhichCountsPatientBoluses() async throws {
        let visit = SimulatedVisit()
        // No patient bolus: the latest day to refill is the alarm.
        let plain = try await visit.programmer().interrogate().status
        let utc = ClinicCalendar(zone: try #require(TimeZone(identifier: "UTC")))
        let alarmOnly = try #require(RefillDates(plain, calendar: utc))
        #expect(alarmOnly.latestRefill == plain.lowReservoirAlarmDate)
        #expect(!alarmOnly.countsBoluses)
        #expect(alarmOnly.bookBy == utc.day(try #require(alarmOnly.alarm.adding(seconds: -86_400))))
        // Four 20 mcg boluses a day allowed: the reservoir can reach the
        // threshold days before the alarm, and the booking comes before that.
        let programmer = try await visit.programmer()
        let withBolus = PipelineTests.rounded.replacingOccurrences(
            of: #""catheter""#, with: #""patient_bolus":{"dose":"20mcg","duration":"10min","lockout":"3h","max_per_24h":4},"catheter""#)
        _ = try await programmer.execute(try await programmer.review(try prescription(withBolus)), overrides: [],
                                         confirmation: .flag(yes: true))
        let status = try await visit.programmer().interrogate().status
        let dates = try #require(RefillDates(status, calendar: utc))
        let alarm = try #require(status.lowReservoirAlarmDate), refill = try #require(status.refillDate)
        #expect(refill < alarm)
        #expect(dates.latestRefill == refill && dates.alarm == alarm && dates.countsBoluses)
        #expect(utc.day(refill) < utc.day(alarm), "a different day, not the alarm's")
        #expect(dates.bookBy == utc.day(try #require(refill.adding(seconds: -86_400))))
        let section = RefillDates.section(status, calendar: utc)
        #expect(section.fields.map(\.label) == ["Book the refill by", "Latest day to refill", "Low-reservoir alarm", "Days to the alarm"])
        #expect(section.fields[0].value.hasPrefix(dates.bookBy))
        #expect(section.fields[1].value.contains("with every allowed patient bolus taken, 4 per 24 h"))
    }

    @Test func theLabelPlacementDetectsACrossing() throws {
        // The check itself can fail: a label drawn across the line is found.
        let line = [(0.0, 0.0), (100.0, 100.0)]
        #expect(ChartSVG.crosses(line, .init(text: "across", x: 40, y: 52, anchor: "start", fontSize: 9, classes: [])))
        #expect(!ChartSVG.crosses(line, .init(text: "beside", x: 60, y: 20, anchor: "start", fontSize: 9, classes: [])))
    }
}

/// An SVG chart read back with Foundation's XMLParser: its polylines by
/// class, its lines and its texts with their attributes.
final class ChartSVG: NSObject, XMLParserDelegate {
    struct Text {
        var text: String
        var x: Double
        var y: Double
        var anchor: String
        var fontSize: Double
        var classes: [String]
    }

    private(set) var polylines: [String: [(Double, Double)]] = [:]
    private var lineClasses: [[String]] = []
    private var allTexts: [Text] = []
    private var current: Text?

    init(_ svg: String) throws {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        guard parser.parse() else { throw parser.parserError ?? CocoaError(.coderReadCorrupt) }
    }

    func lines(class name: String) -> [[String]] {
        let wanted = name.split(separator: " ").map(String.init)
        return lineClasses.filter { classes in wanted.allSatisfy(classes.contains) }
    }

    func texts(class name: String) -> [Text] {
        let wanted = name.split(separator: " ").map(String.init)
        return allTexts.filter { text in wanted.allSatisfy(text.classes.contains) }
    }

    func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String]) {
        let classes = (attributes["class"] ?? "").split(separator: " ").map(String.init)
        switch element {
        case "polyline":
            let points = (attributes["points"] ?? "").split(separator: " ").compactMap { pair -> (Double, Double)? in
                let parts = pair.split(separator: ",")
                guard parts.count == 2, let x = Double(parts[0]), let y = Double(parts[1]) else { return nil }
                return (x, y)
            }
            polylines[classes.joined(separator: " ")] = points
        case "line":
            lineClasses.append(classes)
        case "text":
            current = Text(text: "", x: Double(attributes["x"] ?? "") ?? .nan, y: Double(attributes["y"] ?? "") ?? .nan,
                           anchor: attributes["text-anchor"] ?? "start", fontSize: Double(attributes["font-size"] ?? "") ?? .nan,
                           classes: classes)
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current?.text += string }

    func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
        if element == "text", let text = current {
            allTexts.append(text)
            current = nil
        }
    }

    /// Whether any point of the polyline, sampled every 0.25 units, falls
    /// in the text's box: 0.62 em per character (wider than any digit or
    /// lower-case letter of a sans-serif face), 0.85 em above the baseline
    /// and 0.3 em below.
    static func crosses(_ line: [(Double, Double)], _ text: Text) -> Bool {
        let width = Double(text.text.count) * text.fontSize * 0.62
        let left = text.anchor == "end" ? text.x - width : text.anchor == "middle" ? text.x - width / 2 : text.x
        let top = text.y - text.fontSize * 0.85, bottom = text.y + text.fontSize * 0.3
        for (a, b) in zip(line, line.dropFirst()) {
            let length = max(abs(b.0 - a.0), abs(b.1 - a.1))
            let steps = max(1, Int(length / 0.25))
            for step in 0...steps {
                let t = Double(step) / Double(steps)
                let x = a.0 + (b.0 - a.0) * t, y = a.1 + (b.1 - a.1) * t
                if x >= left && x <= left + width && y >= top && y <= bottom { return true }
            }
        }
        return false
    }

}

@Suite struct ClinicCalendarTests {
    /// The screen review: under America/Los_Angeles an alarm at 04:24Z is
    /// the evening before, and the filed report said the UTC day.
    @Test func theReportsDaysAreTheClinicsDays() throws {
        let zone = try #require(TimeZone(identifier: "America/Los_Angeles"))
        let calendar = ClinicCalendar(zone: zone)
        let alarm = try PumpTime(checkedUTCSeconds: 1_803_702_240)  // 2027-02-27T04:24:00Z
        #expect(calendar.day(alarm) == "2027-02-26")
        #expect(calendar.dayBefore(alarm) == "2027-02-25")
        #expect(calendar.dateTime(alarm) == "2027-02-26 20:24 -08:00 (America/Los_Angeles)")
        // Calendar days: from the morning of 2027-02-20 (local) to the alarm's day is 6.
        let morning = try PumpTime(checkedUTCSeconds: 1_803_142_800)  // 2027-02-20T17:00:00Z, 09:00 local
        #expect(calendar.days(from: morning, to: alarm) == 6)
    }
}
