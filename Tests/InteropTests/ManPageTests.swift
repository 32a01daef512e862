import Foundation
import XCTest

/// The manual pages in `Docs/man` stay true: each renders without a linter warning and holds no merge-conflict marker,
/// and each command's options (as its `--help` or usage text lists them) match its page: every option the program
/// takes is documented, and every option the page documents for a command is one the program takes.
final class ManPageTests: XCTestCase {
    /// `Docs/man` of this checkout.
    private static let manDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Docs/man")

    private static var pages: [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: manDirectory.path)) ?? []
        return names.filter { $0.hasSuffix(".8") }.sorted().map { manDirectory.appendingPathComponent($0) }
    }

    private func page(_ name: String) throws -> ManPage {
        try ManPage(text: String(contentsOf: Self.manDirectory.appendingPathComponent(name), encoding: .utf8))
    }

    /// `sasl-smtpd`, built beside `sasldb`.
    private var saslSmtpd: String {
        ProcessInfo.processInfo.environment["SASL_SMTPD_BIN"]
            ?? URL(fileURLWithPath: TestSupport.sasldb).deletingLastPathComponent().appendingPathComponent("sasl-smtpd")
            .path
    }

    // MARK: - Rendering

    func testEveryPageRendersWithoutAWarningAndHoldsNoConflictMarker() throws {
        try TestSupport.require("mandoc")
        XCTAssertGreaterThanOrEqual(Self.pages.count, 5)
        for url in Self.pages {
            let text = try String(contentsOf: url, encoding: .utf8)
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.hasPrefix("<<<<<<<") || line.hasPrefix(">>>>>>>") || line == "=======" {
                XCTFail("\(url.lastPathComponent):\(index + 1): a merge-conflict marker: \(line)")
            }
            let lint = try TestSupport.run("mandoc", ["-T", "lint", "-W", "warning", url.path])
            XCTAssertEqual(lint.status, 0, url.lastPathComponent + ": " + lint.stdoutText + lint.stderrText)
            XCTAssertEqual(lint.stdoutText + lint.stderrText, "", url.lastPathComponent)
            let groff = try TestSupport.run("groff", ["-ww", "-z", "-man", url.path])
            XCTAssertEqual(groff.stdoutText + groff.stderrText, "", url.lastPathComponent)
        }
    }

    // MARK: - Options

    func testEverySasldbSubcommandsOptionsMatchItsSynopsis() throws {
        let manual = try page("sasldb.8")
        let expansions = [
            "write-options": manual.tagOptions(under: "Write options"),
            "secret-options": manual.tagOptions(under: "SECRET OPTIONS"),
        ]
        XCTAssertFalse(expansions.values.contains { $0.isEmpty }, "\(expansions)")
        for subcommand in [
            "add", "delete", "list", "verify", "disable", "enable", "import", "export", "convert", "check", "passwd",
            "db init",
        ] {
            let help = try TestSupport.sasldb(subcommand.split(separator: " ").map(String.init) + ["--help"])
            XCTAssertEqual(help.status, 0, subcommand)
            let documented = try XCTUnwrap(
                manual.synopsisOptions(of: "sasldb \(subcommand)", expanding: expansions),
                "no synopsis for sasldb \(subcommand)"
            )
            compare(HelpText.options(help.stdoutText), documented, all: manual.allOptions, "sasldb \(subcommand)")
        }
        let root = try TestSupport.sasldb(["--help"])
        let rootDocumented = try XCTUnwrap(manual.synopsisOptions(of: "sasldb", expanding: [:]))
        compare(HelpText.options(root.stdoutText), rootDocumented, all: manual.allOptions, "sasldb")
    }

    func testSaslSmtpdOptionsMatchItsPage() throws {
        guard FileManager.default.isExecutableFile(atPath: saslSmtpd) else { throw XCTSkip("sasl-smtpd is not built") }
        let manual = try page("sasl-smtpd.8")
        let serve = try TestSupport.run(saslSmtpd, ["serve", "--help"])
        XCTAssertEqual(serve.status, 0)
        compare(
            HelpText.options(serve.stdoutText),
            manual.tagOptions(under: "OPTIONS"),
            all: manual.allOptions,
            "serve"
        )
        let test = try TestSupport.run(saslSmtpd, ["smtp-test", "--help"])
        XCTAssertEqual(test.status, 0)
        let testDocumented = manual.tagOptions(under: "SMTP-TEST")
        compare(HelpText.options(test.stdoutText), testDocumented, all: manual.allOptions, "smtp-test")
        XCTAssertEqual(manual.synopsisOptions(of: "sasl-smtpd smtp-test", expanding: [:]), testDocumented)
        let root = try TestSupport.run(saslSmtpd, ["--version"])
        XCTAssertEqual(root.status, 0, root.stderrText)
        XCTAssertEqual(root.stdoutText, try TestSupport.sasldb(["--version"]).stdoutText)
        XCTAssertTrue(manual.synopsisOptions(of: "sasl-smtpd", expanding: [:])?.contains("--version") == true)
    }

    func testCyrusPersonalitiesOptionsMatchTheirPages() throws {
        for (personality, usageOption) in [("saslpasswd2", "-h"), ("sasldblistusers2", "-h")] {
            let manual = try page(personality + ".8")
            let usage = try TestSupport.sasldb([personality, usageOption])
            let taken = HelpText.usageOptions(usage.stdoutText + usage.stderrText, program: personality)
            XCTAssertFalse(taken.isEmpty, usage.stderrText)
            compare(taken, manual.tagOptions(under: "OPTIONS"), all: manual.allOptions, personality)
        }
    }

    func testChgsaslpasswdTakesOnlyWhatItsPageDocuments() throws {
        let manual = try page("chgsaslpasswd.8")
        XCTAssertEqual(manual.synopsisOptions(of: "chgsaslpasswd", expanding: [:]), ["-p"])
        for refused in ["-d", "-f", "-a", "-c", "-u", "-n", "-v"] {
            let run = try TestSupport.sasldb(["chgsaslpasswd", refused, "alice"], input: "a long new password\n")
            XCTAssertEqual(run.status, 1, refused)
            XCTAssertTrue(run.stderrText.contains("\(refused) is refused"), run.stderrText)
            XCTAssertTrue(manual.allOptions.contains(refused), "\(refused) is refused but not named in the page")
        }
    }

    /// Every option the program takes is documented for it (one name of an option with several is enough, and every
    /// name is somewhere in the page); every option documented for it is one it takes.
    private func compare(
        _ taken: [Set<String>],
        _ documented: Set<String>,
        all: Set<String>,
        _ command: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertFalse(taken.isEmpty, "\(command): no options read from its help", file: file, line: line)
        // `--version` is inherited by every subcommand from its root, whose synopsis documents it.
        for names in taken where names.isDisjoint(with: documented) && names != ["--version"] {
            XCTFail("\(command): \(names.sorted()) is not documented for it", file: file, line: line)
        }
        for name in taken.flatMap({ $0 }) where !all.contains(name) {
            XCTFail("\(command): \(name) is not named in the page", file: file, line: line)
        }
        // Every command takes its help options (`-?` is getopt's); the usage texts do not list them.
        let takenNames = Set(taken.flatMap { $0 }).union(["-h", "--help", "-?", "--version"])
        for name in documented.subtracting(takenNames).sorted() {
            XCTFail("\(command): the page documents \(name), which the program refuses", file: file, line: line)
        }
    }
}

/// What a program's own help says it takes.
private enum HelpText {
    /// ArgumentParser's `OPTIONS:` list: one set of names per option (`-f, --database <path>`), without `-h, --help`.
    static func options(_ help: String) -> [Set<String>] {
        var result: [Set<String>] = []
        var inOptions = false
        for line in help.split(separator: "\n") {
            if !line.hasPrefix(" ") {
                inOptions = line.hasSuffix("OPTIONS:")
                continue
            }
            let trimmed = line.drop { $0 == " " }
            guard inOptions, trimmed.hasPrefix("-"), line.prefix(while: { $0 == " " }).count <= 4 else { continue }
            let head = trimmed.components(separatedBy: "  ").first ?? ""
            let names = Set(
                head.split(separator: ",").compactMap { part in
                    part.split(separator: " ").first.map(String.init)
                }.filter { $0.hasPrefix("-") }
            )
            if names.contains("--help") { continue }
            result.append(names)
        }
        return result
    }

    /// A Cyrus-style usage text (`usage: saslpasswd2 [-v] [-c [-p] [-n]] ...` and `\t-x\t...` lines): each option letter.
    static func usageOptions(_ usage: String, program: String) -> [Set<String>] {
        Set(ManPage.optionNames(in: usage)).subtracting(["-h", "-?"]).sorted().map { [$0] }
    }
}

/// A man page's text, as far as the option checks read it.
private struct ManPage {
    let lines: [String]

    init(text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { ManPage.plain(String($0)) }
    }

    /// The line with roff's escapes for minus and fonts resolved.
    static func plain(_ line: String) -> String {
        var text = line.replacingOccurrences(of: "\\-", with: "-")
        for font in ["\\fB", "\\fI", "\\fR", "\\fP"] { text = text.replacingOccurrences(of: font, with: "") }
        return text
    }

    /// `-x` and `--long-name` tokens (a `-` after a letter, as in `write-options`, is no option).
    static func optionNames(in text: String) -> [String] {
        let pattern = try? NSRegularExpression(
            pattern: "(?<![A-Za-z0-9_-])(--[a-z][a-z0-9-]*|-[A-Za-z?](?![A-Za-z0-9-]))"
        )
        let range = NSRange(text.startIndex..., in: text)
        return (pattern?.matches(in: text, range: range) ?? []).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        }
    }

    /// Every option named anywhere in the page.
    var allOptions: Set<String> { Set(lines.flatMap(Self.optionNames)) }

    /// The lines of the section (`.SH`) or subsection (`.SS`) called `title`, up to the next heading of its level or
    /// above.
    func section(_ title: String) -> [String] {
        guard let start = lines.firstIndex(where: { $0 == ".SH \(title)" || $0 == ".SS \(title)" }) else { return [] }
        let isSubsection = lines[start].hasPrefix(".SS")
        let rest = lines[(start + 1)...]
        let end =
            rest.firstIndex { $0.hasPrefix(".SH ") || (isSubsection && $0.hasPrefix(".SS ")) } ?? lines.endIndex
        return Array(lines[(start + 1)..<end])
    }

    /// The options in the tags (the line after `.TP` or `.TQ`) of a section.
    func tagOptions(under title: String) -> Set<String> {
        let body = section(title)
        var options: Set<String> = []
        for (index, line) in body.enumerated() where (line == ".TP" || line == ".TQ") && index + 1 < body.count {
            options.formUnion(Self.optionNames(in: body[index + 1]))
        }
        return options
    }

    /// The options of the SYNOPSIS entries that start `.B command` (entries are separated by `.br`), with each
    /// `[placeholder]` replaced by the options `expansions` gives for it; `nil` when there is no such entry.
    func synopsisOptions(of command: String, expanding expansions: [String: Set<String>]) -> Set<String>? {
        let synopsis = section("SYNOPSIS")
        var entries: [[String]] = [[]]
        for line in synopsis {
            if line == ".br" || line == ".PP" { entries.append([]) } else { entries[entries.count - 1].append(line) }
        }
        let matching = entries.filter { $0.first == ".B \(command)" || $0.first == ".B \(command) -p" }
        guard !matching.isEmpty else { return nil }
        var options = Set(matching.joined().flatMap(Self.optionNames))
        for (placeholder, expansion) in expansions where matching.joined().contains(where: { $0.contains(placeholder) })
        {
            options.formUnion(expansion)
        }
        return options
    }
}
