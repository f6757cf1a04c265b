import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads danmaku XML as live recorders write it:
/// `<i><chatserver>…</chatserver><d p="754.2,1,25,16777215,1700000000,0,abc,123">text</d>…</i>`.
/// The first field of `p` is the time — seconds from the recording's start as live recorders write
/// it, or Unix epoch seconds (told apart by magnitude, see `WrittenTime.number`) — the 7th (when
/// there) the user; the element's text is the message. Every other element (gifts, super chats, metadata) is ignored.
enum DanmakuParser {
    static func parse(bytes: [UInt8]) throws -> ParsedEntries {
        let parser = XMLParser(data: Data(try defused(bytes)))
        parser.shouldResolveExternalEntities = false
        let collector = Collector()
        parser.delegate = collector
        // parse()'s result is not enough: on Linux it can return true after an error, and libxml2
        // recovers and goes on reporting elements, so the collector stops at the first error.
        let finished = parser.parse()
        let failure = collector.failure
            ?? (finished ? nil : (parser.lineNumber, parser.columnNumber, (parser.parserError as NSError?)?.code ?? 0))

        var parsed = ParsedEntries()
        parsed.emptyDetail = "no <d> elements (not a danmaku file?)"
        for element in collector.elements {
            guard let p = element.p else {
                parsed.badLines.append(BadLine(line: element.line, reason: "<d> without a 'p' attribute"))
                continue
            }
            let fields = p.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            var record: SignalRecord = ["t": .string(fields[0]), "text": .string(element.text)]
            record["user"] = .string(fields.count > 6 ? fields[6] : "")
            parsed.entries.append((element.line, record))
        }
        if let failure {
            let problem = "not well-formed XML at line \(failure.line), column \(failure.column) (\(describe(xmlError: failure.code)))"
            // A recorder stopped mid-write leaves a cut-short file: what came before still counts,
            // and the cut is reported rather than dropped quietly.
            guard !parsed.entries.isEmpty || !parsed.badLines.isEmpty else { throw LineProblem(problem) }
            parsed.badLines.append(BadLine(line: failure.line, reason: "\(problem); the rest of the file was not read"))
        }
        return parsed
    }

    /// FoundationXML over Debian 12's libxml2 crashes (SIGSEGV) on two things a file may hold, found by
    /// fuzzing (Fuzz/signals.swift): an XML declaration naming an encoding the bytes are not valid in
    /// (`encoding="GBK"`, "UTF-7", "EUC-JP"… over UTF-8 text: xmlSwitchToEncoding), and a processing
    /// instruction without data (`<?x?>`: strlen(NULL) in FoundationXML). The bytes are UTF-8 (checked
    /// on load), so the declared encoding is blanked out, and so are data-less processing instructions
    /// (nothing the reader uses); spaces keep every line and column. Comments and CDATA are left alone.
    /// A DOCTYPE with an internal subset is refused: its entities could bring such instructions back.
    /// The text ends at a NUL byte (never allowed in XML; a recorder that died leaves NUL padding):
    /// leading NULs made libxml2 take the file for UCS-4 and crash in xmlParseChunk.
    static func defused(_ input: [UInt8]) throws -> [UInt8] {
        var bytes = Array(input.prefix { $0 != 0 })
        let n = bytes.count
        func starts(_ i: Int, _ text: String) -> Bool {
            let count = text.utf8.count
            return i + count <= n && bytes[i..<(i + count)].elementsEqual(text.utf8)
        }
        func find(_ text: String, from: Int) -> Int? {
            var i = from
            while i < n { if starts(i, text) { return i }; i += 1 }
            return nil
        }
        let declaration = starts(0, "<?xml") && n > 5 && isBlank(bytes[5])
        if declaration {
            // libxml2 acts on the declaration's encoding even when the declaration is never closed,
            // so `encoding = "name"` is looked for up to the first "<" or ">", not up to "?>".
            let limit = bytes[5...].firstIndex { $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") } ?? n
            if let e = find("encoding", from: 5), e < limit {
                var k = e + 8
                while k < n, isBlank(bytes[k]) { k += 1 }
                if k < n, bytes[k] == UInt8(ascii: "=") {
                    k += 1
                    while k < n, isBlank(bytes[k]) { k += 1 }
                    if k < n, bytes[k] == UInt8(ascii: "\"") || bytes[k] == UInt8(ascii: "'") {
                        let quote = bytes[k]
                        k += 1
                        // EncName: [A-Za-z] ([A-Za-z0-9._] | '-')*
                        while k < n, (0x41...0x5A).contains(bytes[k]) || (0x61...0x7A).contains(bytes[k])
                                || (0x30...0x39).contains(bytes[k]) || [0x2E, 0x5F, 0x2D].contains(bytes[k]) { k += 1 }
                        if k < n, bytes[k] == quote { k += 1 }
                    }
                }
                for b in e..<k { bytes[b] = 0x20 }
            }
        }
        var i = 0
        while i < n {
            if bytes[i] != UInt8(ascii: "<") {
                i += 1
            } else if starts(i, "<!--") {
                i = find("-->", from: i + 4).map { $0 + 3 } ?? n
            } else if starts(i, "<![CDATA[") {
                i = find("]]>", from: i + 9).map { $0 + 3 } ?? n
            } else if starts(i, "<!DOCTYPE") {
                var k = i + 9, quote: UInt8? = nil
                while k < n {
                    let b = bytes[k]
                    if let q = quote { if b == q { quote = nil } }
                    else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") { quote = b }
                    else if b == UInt8(ascii: ">") { break }
                    else if b == UInt8(ascii: "[") {
                        throw LineProblem("a DOCTYPE with declarations ([…]) is not read in a danmaku file")
                    }
                    k += 1
                }
                i = k
            } else if starts(i, "<?") {
                guard let end = find("?>", from: i + 2) else { break }
                if !(i == 0 && declaration), end > i + 2, !bytes[(i + 2)..<end].contains(where: isBlank) {
                    for b in i..<(end + 2) { bytes[b] = 0x20 }
                }
                i = end + 2
            } else {
                i += 1
            }
        }
        return bytes
    }

    /// A few words for the libxml2 errors a signal file meets; the code for the others.
    /// The codes are libxml2's (as on Darwin); swift-corelibs' `XMLParser.ErrorCode` values are
    /// shifted by one, so they are not used here.
    private static func describe(xmlError code: Int) -> String {
        switch code {
        case 3, 4: return "no XML document"
        case 5: return "the file ends early"
        case 76: return "a tag closed with the wrong name"
        default: return "XML error \(code)"
        }
    }

    /// Collects the `<d>` elements (line, `p`, text) as the parser reports them.
    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [(line: Int, p: String?, text: String)] = []
        private var current: (line: Int, p: String?)?
        private var text = ""
        /// Elements open inside the current `<d>` (their text counts, their tags do not).
        private var nested = 0
        /// Where the first error was (line, column, code); nothing after it is collected.
        var failure: (line: Int, column: Int, code: Int)?

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
            if failure == nil {
                failure = (parser.lineNumber, parser.columnNumber, (parseError as NSError).code)
            }
            parser.abortParsing()
        }

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            guard failure == nil else { return }
            if current != nil {
                nested += 1
            } else if elementName == "d" {
                current = (parser.lineNumber, attributeDict["p"])
                text = ""
            }
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?) {
            guard failure == nil, let open = current else { return }
            if nested > 0 {
                nested -= 1
                return
            }
            elements.append((open.line, open.p, text))
            current = nil
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if failure == nil, current != nil { text += string }
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            if failure == nil, current != nil { text += String(decoding: CDATABlock, as: UTF8.self) }
        }
    }
}
