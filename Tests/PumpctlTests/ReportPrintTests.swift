import Foundation
import Testing
import TestSupport

/// The session reports as a clinic prints and files them: the HTML of a
/// real visit (the built pumpctl against the simulator) rendered to PDF by
/// headless Chromium, its pages counted with poppler's pdfinfo and read
/// page by page with pdftotext.
@Suite(.serialized, .tags(.process), .childProcesses) struct ReportPrintTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-print")
    var stateDir: String { temporary.path }
    static let serial = "RP20-DEMO-0001"
    /// 450 mcg/day with up to four 20 mcg patient boluses a day: the latest
    /// day to refill comes before the alarm date.
    static let withBolus = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"450mcg/day","patient_bolus":{"dose":"20mcg","duration":"10min","lockout":"3h","max_per_24h":4},"catheter":{"volume":"0.26mL"}}"#

    func pumpctl(_ arguments: [String]) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--simulator", "--state-dir", stateDir, "--operator", "nurse.a", "--color", "never"] + arguments)
    }

    struct Tools {
        var chromium: String
        var pdfinfo: String
        var pdftotext: String
    }

    static func tools() throws -> Tools {
        Tools(chromium: try Requirements.tool("chromium", "apt-get install chromium; scripts/install-deps.sh"),
              pdfinfo: try Requirements.tool("pdfinfo", "apt-get install poppler-utils; scripts/install-deps.sh"),
              pdftotext: try Requirements.tool("pdftotext", "apt-get install poppler-utils; scripts/install-deps.sh"))
    }

    /// The HTML report a command wrote (its `Report: ….html` line).
    static func htmlReport(_ result: PumpctlRun.Result) throws -> String {
        let line = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("Report: ") && $0.hasSuffix(".html") },
                                "no HTML report in:\n\(result.stdout)")
        return String(line.dropFirst("Report: ".count))
    }

    /// A patient, a programming change to a prescription with patient
    /// boluses, then a routine refill; the two HTML reports.
    func visit() async throws -> (programming: String, refill: String) {
        let set = try await pumpctl(["patient", "set", "--serial", Self.serial, "--name", "Ada Lovelace", "--mrn", "MRN-0042", "--mrn-system", "urn:oid:2.16.840.1.113883.19.5",
                                     "--dob", "1980-02-29", "--prescriber", "Dr. Grace Hopper"])
        #expect(set.status == 0, "\(set.stderr)")
        let file = stateDir + "/with-bolus.json"
        try Data(Self.withBolus.utf8).write(to: URL(fileURLWithPath: file))
        let program = try await pumpctl(["--yes", "program", file])
        #expect(program.status == 0, "\(program.stderr)")
        let refill = try await pumpctl(["--yes", "refill", "--withdrawn", "12mL", "--added", "18mL", "--concentration", "2000mcg/mL"])
        #expect(refill.status == 0, "\(refill.stderr)")
        return (try Self.htmlReport(program), try Self.htmlReport(refill))
    }

    /// `html` printed to PDF by headless Chromium (A4 from the report's own
    /// @page rule); Chromium's own header and footer are off, so what
    /// repeats on each page is the report's.
    func printed(_ html: String, tools: Tools) async throws -> String {
        let pdf = html + ".pdf"
        let result = try await ChildProcess.run(tools.chromium, [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", "--user-data-dir=\(stateDir)/chromium",
            "--print-to-pdf=\(pdf)", URL(fileURLWithPath: html).absoluteString,
        ], timeLimit: .seconds(120))
        #expect(result.status == 0, "\(result)")
        #expect(FileManager.default.fileExists(atPath: pdf), "Chromium wrote no PDF: \(result.stderr)")
        return pdf
    }

    struct WordBox {
        var text: String
        var xMin: Double
        var xMax: Double
        var pageWidth: Double
    }

    /// Every word of the PDF with its horizontal extent (`pdftotext -bbox`).
    func wordBoxes(_ pdf: String, tools: Tools) async throws -> [WordBox] {
        let result = try await ChildProcess.run(tools.pdftotext, ["-bbox", pdf, "-"])
        #expect(result.status == 0, "\(result)")
        func attribute(_ name: String, in line: Substring) -> Double? {
            guard let start = line.range(of: name + "=\"") else { return nil }
            let rest = line[start.upperBound...]
            return rest.firstIndex(of: "\"").flatMap { Double(rest[..<$0]) }
        }
        var width = Double.nan
        var words: [WordBox] = []
        for line in result.stdout.split(separator: "\n") {
            if line.contains("<page ") { width = attribute("width", in: line) ?? .nan }
            guard line.contains("<word "), let xMin = attribute("xMin", in: line), let xMax = attribute("xMax", in: line),
                  let open = line.firstIndex(of: ">"), let close = line.range(of: "</word>") else { continue }
            words.append(WordBox(text: String(line[line.index(after: open)..<close.lowerBound]), xMin: xMin, xMax: xMax, pageWidth: width))
        }
        return words
    }

    /// Whether a printed page carries the report's SIMULATED page mark.
    static func marksSimulated(_ text: String) -> Bool {
        text.split(separator: "\n").contains { $0.contains("SIMULATED") && $0.contains("not a patient's record") }
    }

    func pages(_ pdf: String, tools: Tools) async throws -> Int {
        let info = try await ChildProcess.run(tools.pdfinfo, [pdf])
        #expect(info.status == 0, "\(info)")
        let line = try #require(info.stdout.split(separator: "\n").first { $0.hasPrefix("Pages:") }, "\(info.stdout)")
        return try #require(Int(line.dropFirst("Pages:".count).trimmingCharacters(in: .whitespaces)))
    }

    func pageText(_ pdf: String, page: Int, tools: Tools) async throws -> String {
        let text = try await ChildProcess.run(tools.pdftotext, ["-layout", "-f", "\(page)", "-l", "\(page)", pdf, "-"])
        #expect(text.status == 0, "\(text)")
        return text.stdout
    }

    @Test func aRefillAndAProgrammingReportEachPrintOnOneA4PageMarkedSimulated() async throws {
        let tools = try Self.tools()
        let reports = try await visit()
        // Then a change to a flex schedule, ordered the same day: the
        // longest programming report a visit writes (each step in the
        // changes, an override).
        let flex = try await pumpctl(["--yes", "program", RepositoryPaths.root + "/examples/prescriptions/baclofen-flex.json",
                                      "--override", "titration.within-24h=ordered by the physician, plan on file"])
        #expect(flex.status == 0, "\(flex.stderr)")
        for (kind, html) in [("programming", reports.programming), ("refill", reports.refill), ("flex programming", try Self.htmlReport(flex))] {
            let pdf = try await printed(html, tools: tools)
            let info = try await ChildProcess.run(tools.pdfinfo, [pdf])
            #expect(info.stdout.contains("(A4)"), "\(kind): \(info.stdout)")
            #expect(try await pages(pdf, tools: tools) == 1, "the \(kind) report does not fit one A4 page")
            let text = try await pageText(pdf, page: 1, tools: tools)
            #expect(Self.marksSimulated(text), "\(kind): \(text)")
            #expect(text.contains("page 1 of 1"), "\(kind): \(text)")
            // Nothing runs past the side margins (12 mm): a table or chart
            // too wide for the page is cut off in print.
            let words = try await wordBoxes(pdf, tools: tools)
            let margin = 12 / 25.4 * 72
            let outside = words.filter { $0.xMin < margin - 1 || $0.xMax > $0.pageWidth - margin + 1 }
            #expect(!words.isEmpty && outside.isEmpty, "\(kind): past the margins: \(outside.map(\.text))")
            // Nothing cut off at the foot of the page: the signature lines
            // are the last thing on it.
            #expect(text.contains("Prescriber") && text.contains("Dr. Grace Hopper"), "\(kind): \(text)")
            #expect(text.contains("Attestation"), "\(kind): \(text)")
        }
    }

    @Test func everyPageOfAReportThatRunsOverSaysSimulated() async throws {
        let tools = try Self.tools()
        let reports = try await visit()
        // The refill report with its sections five times over: longer than
        // any visit writes, so it runs over several pages, printed with the
        // report's own styles.
        let html = try String(contentsOfFile: reports.refill, encoding: .utf8)
        let start = try #require(html.range(of: "<div class=\"sections\">"))
        let end = try #require(html.range(of: "</div>", range: start.upperBound..<html.endIndex))
        let sections = String(html[start.upperBound..<end.lowerBound])
        let long = html.replacingCharacters(in: start.upperBound..<end.lowerBound, with: String(repeating: sections, count: 5))
        let file = stateDir + "/long-report.html"
        try Data(long.utf8).write(to: URL(fileURLWithPath: file))
        let pdf = try await printed(file, tools: tools)
        let count = try await pages(pdf, tools: tools)
        #expect(count > 1, "the long report should run over")
        for page in 1...max(1, count) {
            let text = try await pageText(pdf, page: page, tools: tools)
            // The page's own mark, not the patient section's words
            // (repeated here with the sections).
            #expect(Self.marksSimulated(text), "page \(page) of \(count) is not marked SIMULATED:\n\(text)")
            #expect(text.contains("page \(page) of \(count)"), "page \(page):\n\(text)")
        }
    }

    @Test func theReportStatesTheAlarmTheLatestDayToRefillAndTheBookingDate() async throws {
        let reports = try await visit()
        let markdown = try String(contentsOfFile: String(reports.refill.dropLast(".html".count)) + ".md", encoding: .utf8)
        func value(_ label: String) throws -> String {
            let row = try #require(markdown.split(separator: "\n").first { $0.hasPrefix("| \(label) | ") }, "no \(label) in:\n\(markdown)")
            return String(row.dropFirst("| \(label) | ".count).prefix(10))
        }
        let alarm = try value("Low-reservoir alarm"), latest = try value("Latest day to refill"), bookBy = try value("Book the refill by")
        // With four boluses a day allowed, the latest day to refill is
        // before the alarm, and the booking date the day before that.
        #expect(latest < alarm, "latest \(latest), alarm \(alarm)")
        let day = DateFormatter()
        day.dateFormat = "yyyy-MM-dd"
        day.timeZone = TimeZone(identifier: "UTC")
        let latestDate = try #require(day.date(from: latest)), bookDate = try #require(day.date(from: bookBy))
        #expect(latestDate.timeIntervalSince(bookDate) == 86_400, "book by \(bookBy), latest \(latest)")
        #expect(markdown.contains("with every allowed patient bolus taken, 4 per 24 h"), "\(markdown)")
    }
}

/// The repository this test was built from (Tests/PumpctlTests/ is two folders down).
enum RepositoryPaths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
}
