import Foundation
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
        // A pipe in a value must not split the table cell.
        #expect(text.contains("| Note | a <b> \\| c |"))
        #expect(text.contains("| 07:00 | 500 mcg/day |"))
    }

    @Test func htmlEscapesValuesAndDrawsBothCharts() {
        let html = report.html
        #expect(html.contains("a &lt;b&gt; | c"))
        #expect(!html.contains("a <b>"))
        #expect(html.components(separatedBy: "<svg").count == 3)
        // 07:00 to 22:00 at 500 of a 600 top: x = 40 + 7/24 x 520 = 191.7; y = 200 - 40 - 500/600 x 120 = 60.
        #expect(html.contains("191.7,60.0"))
        #expect(html.contains("low-reservoir alarm 2 mL"))
    }
}
