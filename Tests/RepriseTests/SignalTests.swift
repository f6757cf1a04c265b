import Foundation
import XCTest
@testable import RepriseHighlights

/// Signal sidecar files (chat, orders, products): every format, the line numbers of bad entries,
/// wall-clock times, and the files that must be refused as a whole.
final class SignalTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("reprise-signals-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Writes `text` (UTF-8) to `name` in the test's folder; returns its path.
    private func file(_ name: String, _ text: String) throws -> String {
        try data(name, Data(text.utf8))
    }

    private func data(_ name: String, _ bytes: Data) throws -> String {
        let url = folder.appendingPathComponent(name)
        try bytes.write(to: url)
        return url.path
    }

    private let noClock = SignalClock(recordingStart: nil)

    /// The XML column libxml2 reports varies with its version; the line and the reason do not.
    private func anyColumn(_ text: String) -> String {
        text.replacingOccurrences(of: #"column \d+"#, with: "column N", options: .regularExpression)
    }

    // MARK: Chat

    func testChatJSONLinesWithTimeAliasCJKAndSorting() throws {
        let path = try file("chat.jsonl", """
            {"t": 754.2, "user": "小红", "text": "买买买！这个颜色好看"}
            {"time": 12, "user": 4242, "text": "hello \\"there\\""}
            {"t": "30.5", "text": "no user 🎉"}
            """)
        let chat = try SignalReader.chat(path: path, clock: noClock)
        XCTAssertEqual(chat.path, path)
        XCTAssertEqual(chat.items, [
            ChatMessage(time: 12, user: "4242", text: "hello \"there\""),
            ChatMessage(time: 30.5, user: "", text: "no user 🎉"),
            ChatMessage(time: 754.2, user: "小红", text: "买买买！这个颜色好看"),
        ])
        XCTAssertEqual(chat.badLines, [])
    }

    func testBadJSONLinesKeepTheirLineNumbers() throws {
        let path = try file("chat.jsonl", """
            {"t": 1, "user": "a", "text": "one"}
            {"t": 2, "user": "b", "text": "two"}
            {"t": 3, "user": "c", "text": "thr
            {"t": 4, "user": "d", "text": "four"}
            {"t": 5, "user": "e"}
            {"t": 6, "user": "f", "text": "six"}
            """)
        let chat = try SignalReader.chat(path: path, clock: noClock)
        XCTAssertEqual(chat.items.map(\.time), [1, 2, 4, 6])
        XCTAssertEqual(chat.items.map(\.text), ["one", "two", "four", "six"])
        XCTAssertEqual(chat.badLines, [BadLine(line: 3, reason: "not valid JSON"), BadLine(line: 5, reason: "no 'text'")])
    }

    func testBlankLinesAndBOMAreSkippedSilently() throws {
        var bytes = Data([0xEF, 0xBB, 0xBF])
        bytes += Data("{\"t\": 5, \"user\": \"u\", \"text\": \"直播\"}\r\n\r\n   \n[1, 2]\n\"just text\"\n{\"t\": true, \"text\": \"x\"}\n".utf8)
        let path = try data("chat.ndjson", bytes)
        let chat = try SignalReader.chat(path: path, clock: noClock)
        XCTAssertEqual(chat.items, [ChatMessage(time: 5, user: "u", text: "直播")])
        XCTAssertEqual(chat.badLines, [
            BadLine(line: 4, reason: "not a JSON object"),
            BadLine(line: 5, reason: "not a JSON object"),
            BadLine(line: 6, reason: "not a time: true"),
        ])
    }

    func testChatCSVWithQuotingInAnyColumnOrder() throws {
        let path = try file("chat.csv", #"""
            text,T,user
            "hello, world",10,alice
            "she said ""buy""",11.5,bob
            "line one
            line two",12,"carol"
            买买买！这个颜色好看,13,小明
            too,few
            not a time,abc,dave
            ,14,empty text is kept

            last,15,eve
            """#)
        let chat = try SignalReader.chat(path: path, clock: noClock)
        XCTAssertEqual(chat.items, [
            ChatMessage(time: 10, user: "alice", text: "hello, world"),
            ChatMessage(time: 11.5, user: "bob", text: "she said \"buy\""),
            ChatMessage(time: 12, user: "carol", text: "line one\nline two"),
            ChatMessage(time: 13, user: "小明", text: "买买买！这个颜色好看"),
            ChatMessage(time: 14, user: "empty text is kept", text: ""),
            ChatMessage(time: 15, user: "eve", text: "last"),
        ])
        XCTAssertEqual(chat.badLines, [
            BadLine(line: 7, reason: "2 fields, but the header has 3"),
            BadLine(line: 8, reason: "not a time: 'abc'"),
        ])
    }

    func testCSVUnclosedQuoteIsOneBadRow() throws {
        let path = try file("chat.csv", "t,user,text\r\n1,a,fine\r\n2,b,\"never closed\r\n3,c,swallowed\r\n")
        let chat = try SignalReader.chat(path: path, clock: noClock)
        XCTAssertEqual(chat.items, [ChatMessage(time: 1, user: "a", text: "fine")])
        XCTAssertEqual(chat.badLines, [BadLine(line: 3, reason: "a quote opened here is never closed")])
    }

    func testCSVWithoutNeededColumnsIsRefused() throws {
        let path = try file("chat.csv", "time,name,msg\n1,a,hi\n")
        let error = expectError(SignalFileError.self) { try SignalReader.chat(path: path, clock: noClock) }
        XCTAssertEqual(error?.path, path)
        XCTAssertEqual(error?.description, "\(path): no column 'text' in the header (found: time,name,msg)")

        let orders = try file("orders.csv", "when,what\n1,P1\n")
        XCTAssertEqual(expectError(SignalFileError.self) { try SignalReader.orders(path: orders, clock: noClock) }?.description,
                       "\(orders): no columns 't', 'product' in the header (found: when,what)")
    }

    func testDanmakuXML() throws {
        let path = try file("danmaku.xml", """
            <?xml version="1.0" encoding="UTF-8"?>
            <i>
              <chatserver>chat.bilibili.com</chatserver>
              <chatid>0</chatid>
              <d p="754.2,1,25,16777215,1700000000,0,abc,123">买买买！这个颜色好看</d>
              <d p="3.5,1,25,16777215,1700000000,0">Tom &amp; Jerry &lt;3</d>
              <gift ts="5" user="x" giftname="rocket" />
              <d p="oops,1,25">bad time</d>
              <d>no p at all</d>
              <d p="9,1,25,16777215,1700000000,0,u9,1"><![CDATA[a <raw> & text]]></d>
            </i>
            """)
        let chat = try SignalReader.chat(path: path, clock: noClock)
        XCTAssertEqual(chat.items, [
            ChatMessage(time: 3.5, user: "", text: "Tom & Jerry <3"),
            ChatMessage(time: 9, user: "u9", text: "a <raw> & text"),
            ChatMessage(time: 754.2, user: "abc", text: "买买买！这个颜色好看"),
        ])
        XCTAssertEqual(chat.badLines, [
            BadLine(line: 8, reason: "not a time: 'oops'"),
            BadLine(line: 9, reason: "<d> without a 'p' attribute"),
        ])
    }

    func testDanmakuCutShortKeepsWhatCameBefore() throws {
        let path = try file("live.xml", """
            <?xml version="1.0" encoding="UTF-8"?>
            <i>
            <d p="1,1,25,16777215,1700000000,0,a,1">first</d>
            <d p="2,1,25,16777215,1700000000,0,b,1">second</d>
            <d p="3,1,25,16777215,1700000000,0,c,1">thi
            """)
        let chat = try SignalReader.chat(path: path, clock: noClock)
        XCTAssertEqual(chat.items.map(\.text), ["first", "second"])
        XCTAssertEqual(chat.badLines.map { BadLine(line: $0.line, reason: anyColumn($0.reason)) }, [
            BadLine(line: 5, reason: "not well-formed XML at line 5, column N (the file ends early); the rest of the file was not read"),
        ])
    }

    func testMalformedXMLIsRefused() throws {
        let path = try file("chat.xml", "<i><d p=\"1\">unclosed</i>\n")
        let error = expectError(SignalFileError.self) { try SignalReader.chat(path: path, clock: noClock) }
        XCTAssertEqual(error?.path, path)
        XCTAssertEqual(error.map { anyColumn($0.description) },
                       "\(path): not well-formed XML at line 1, column N (a tag closed with the wrong name)")

        let notDanmaku = try file("feed.xml", "<rss><channel><title>x</title></channel></rss>")
        XCTAssertEqual(expectError(SignalFileError.self) { try SignalReader.chat(path: notDanmaku, clock: noClock) }?.description,
                       "\(notDanmaku): no <d> elements (not a danmaku file?)")
    }

    // MARK: Orders

    func testOrdersJSONLinesDefaultsAndAlias() throws {
        let path = try file("orders.jsonl", """
            {"t": 100, "product": "P1", "kind": "order", "amount": 99.5}
            {"t": 50, "product_id": "P2"}
            {"t": 75, "product": 3, "kind": "refund", "amount": "-19.9"}
            {"t": 80, "kind": "order"}
            {"t": 81, "product": "P1", "amount": "lots"}
            """)
        let orders = try SignalReader.orders(path: path, clock: noClock)
        XCTAssertEqual(orders.items, [
            OrderEvent(time: 50, productID: "P2", kind: "order", amount: 0),
            OrderEvent(time: 75, productID: "3", kind: "refund", amount: -19.9),
            OrderEvent(time: 100, productID: "P1", kind: "order", amount: 99.5),
        ])
        XCTAssertEqual(orders.badLines, [
            BadLine(line: 4, reason: "no 'product' (or 'product_id')"),
            BadLine(line: 5, reason: "'amount' is not a number: 'lots'"),
        ])
    }

    func testOrdersCSV() throws {
        let path = try file("orders.csv", """
            amount,kind,product,t
            "1,299.00",order,P1,20
            59.9,,P2,10
            12,cart,P1,30
            """)
        let orders = try SignalReader.orders(path: path, clock: noClock)
        XCTAssertEqual(orders.items, [
            OrderEvent(time: 10, productID: "P2", kind: "order", amount: 59.9),
            OrderEvent(time: 30, productID: "P1", kind: "cart", amount: 12),
        ])
        XCTAssertEqual(orders.badLines, [BadLine(line: 2, reason: "'amount' is not a number: '1,299.00'")])
    }

    func testOrdersAsXMLAreRefused() throws {
        let path = try file("orders.xml", "<i><d p=\"1\">x</d></i>")
        XCTAssertEqual(expectError(SignalFileError.self) { try SignalReader.orders(path: path, clock: noClock) }?.description,
                       "\(path): XML is read only for chat (danmaku); give this file as JSON or CSV")
    }

    // MARK: Products

    func testProductsJSONArrayWithRealLineNumbers() throws {
        let path = try file("products.json", """
            [
              {"id": "P2", "title": "保温杯", "start": 1260, "end": 1800},
              {"id": "P1", "title": "口红 #01",
               "start": 600, "end": 1260},
              {"id": "P3", "title": "broken" "start": 1, "end": 2},
              {"id": "P4", "title": "backwards", "start": 50, "end": 40},
              {"id": "P5", "start": 1900, "end": 2000},
              42
            ]
            """)
        let products = try SignalReader.products(path: path, clock: noClock)
        XCTAssertEqual(products.items, [
            ProductSpan(id: "P1", title: "口红 #01", start: 600, end: 1260),
            ProductSpan(id: "P2", title: "保温杯", start: 1260, end: 1800),
            ProductSpan(id: "P5", title: "", start: 1900, end: 2000),
        ])
        XCTAssertEqual(products.badLines, [
            BadLine(line: 5, reason: "not valid JSON"),
            BadLine(line: 6, reason: "end (40) is not after start (50)"),
            BadLine(line: 8, reason: "not a JSON object"),
        ])
    }

    func testProductsWrappedInAnObject() throws {
        let path = try file("products.json", """
            {
              "stream": "2026-11-20 evening",
              "products": [
                {"id": "A", "title": "first", "start": 0, "end": 10},
                {"id": "B", "title": "second", "start": "10", "end": -1}
              ],
              "note": "[not entries]"
            }
            """)
        let products = try SignalReader.products(path: path, clock: noClock)
        XCTAssertEqual(products.items, [ProductSpan(id: "A", title: "first", start: 0, end: 10)])
        XCTAssertEqual(products.badLines, [BadLine(line: 5, reason: "end: negative time (-1)")])
    }

    func testProductsCSV() throws {
        let path = try file("products.csv", """
            id,title,start,end
            P1,"Lipstick, red",600,1260
            P2,同款保温杯,1260,1260
            P3,,1300,1400
            """)
        let products = try SignalReader.products(path: path, clock: noClock)
        XCTAssertEqual(products.items, [
            ProductSpan(id: "P1", title: "Lipstick, red", start: 600, end: 1260),
            ProductSpan(id: "P3", title: "", start: 1300, end: 1400),
        ])
        XCTAssertEqual(products.badLines, [BadLine(line: 3, reason: "end (1260) is not after start (1260)")])
    }

    // MARK: Times

    func testWallClockTimesWithOffsets() throws {
        let start = try XCTUnwrap(SignalReader.parseDate("2026-11-20T12:00:00Z"))
        let clock = SignalClock(recordingStart: start)
        let path = try file("chat.jsonl", """
            {"t": "2026-11-20T20:12:34.5+08:00", "user": "a", "text": "offset"}
            {"t": "2026-11-20T12:00:10Z", "user": "b", "text": "zulu"}
            {"t": "2026-11-20T07:01:00-05:00", "user": "c", "text": "west"}
            {"t": "2026-11-20T11:59:00Z", "user": "d", "text": "before"}
            {"t": 3, "user": "e", "text": "seconds still work"}
            """)
        let chat = try SignalReader.chat(path: path, clock: clock)
        XCTAssertEqual(chat.items.map(\.time), [3, 10, 60, 754.5])
        XCTAssertEqual(chat.items.map(\.text), ["seconds still work", "zulu", "west", "offset"])
        XCTAssertEqual(chat.badLines, [
            BadLine(line: 4, reason: "wall-clock time 2026-11-20T11:59:00Z is 60 s before the recording's start"),
        ])

        let orders = try file("orders.csv", "t,product\n2026-11-20T21:00:00+08:00,P1\n")
        XCTAssertEqual(try SignalReader.orders(path: orders, clock: clock).items,
                       [OrderEvent(time: 3600, productID: "P1", kind: "order", amount: 0)])
    }

    func testWallClockTimesWithoutARecordingStartAreBadLines() throws {
        let path = try file("chat.jsonl", """
            {"t": "2026-11-20T20:12:34.5+08:00", "user": "a", "text": "wall"}
            {"t": 7, "user": "b", "text": "seconds"}
            """)
        let chat = try SignalReader.chat(path: path, clock: noClock)
        XCTAssertEqual(chat.items, [ChatMessage(time: 7, user: "b", text: "seconds")])
        XCTAssertEqual(chat.badLines, [
            BadLine(line: 1, reason: "wall-clock time but the recording's start is unknown (give --recording-start)"),
        ])

        let products = try file("products.csv", "id,title,start,end\nP1,x,2026-11-20T20:00:00Z,2026-11-20T20:10:00Z\nP2,y,5,6\n")
        XCTAssertEqual(try SignalReader.products(path: products, clock: noClock).badLines, [
            BadLine(line: 2, reason: "start: wall-clock time but the recording's start is unknown (give --recording-start)"),
        ])
    }

    func testNegativeAndNonFiniteTimesAreBadLines() throws {
        let path = try file("chat.csv", "t,user,text\n-3,a,neg\nnan,b,nan\ninf,c,inf\n,d,empty\n4,e,ok\n")
        let chat = try SignalReader.chat(path: path, clock: noClock)
        XCTAssertEqual(chat.items, [ChatMessage(time: 4, user: "e", text: "ok")])
        XCTAssertEqual(chat.badLines, [
            BadLine(line: 2, reason: "negative time (-3)"),
            BadLine(line: 3, reason: "time is not finite"),
            BadLine(line: 4, reason: "time is not finite"),
            BadLine(line: 5, reason: "empty time"),
        ])
    }

    func testParseDate() throws {
        let base = 1_795_166_400.0 // 2026-11-20T09:20:00Z
        XCTAssertEqual(SignalReader.parseDate("2026-11-20T09:20:00Z")?.timeIntervalSince1970, base)
        XCTAssertEqual(SignalReader.parseDate("2026-11-20T17:20:00+08:00")?.timeIntervalSince1970, base)
        XCTAssertEqual(SignalReader.parseDate("2026-11-20T17:20:00+0800")?.timeIntervalSince1970, base)
        XCTAssertEqual(SignalReader.parseDate("2026-11-20 04:20-05")?.timeIntervalSince1970, base)
        XCTAssertEqual(SignalReader.parseDate(" 2026-11-20T09:20:00.250z ")?.timeIntervalSince1970, base + 0.25)
        XCTAssertEqual(SignalReader.parseDate("2026-11-20T09:20:00.123456Z")?.timeIntervalSince1970 ?? 0,
                       base + 0.123456, accuracy: 1e-6)
        XCTAssertEqual(SignalReader.parseDate("2024-02-29T00:00:00Z")?.timeIntervalSince1970, 1_709_164_800)
        XCTAssertEqual(SignalReader.parseDate("1970-01-01T00:00:00Z")?.timeIntervalSince1970, 0)
        for bad in ["2026-11-20T09:20:00", "2026-11-20", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
                    "2026-11-20T24:00:00Z", "2026-11-20T09:20:00.Z", "2026-11-20T09:20:00Zjunk", "754.2", ""] {
            XCTAssertNil(SignalReader.parseDate(bad), bad)
        }
    }

    // MARK: Whole files refused

    func testWhollyWrongFilesAreRefusedNamingThePath() throws {
        let png = try data("chat.jsonl", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D]))
        XCTAssertEqual(expectError(SignalFileError.self) { try SignalReader.chat(path: png, clock: noClock) }?.description,
                       "\(png): not a text file (invalid UTF-8 at byte 0)")

        let empty = try file("orders.jsonl", " \n\n")
        XCTAssertEqual(expectError(SignalFileError.self) { try SignalReader.orders(path: empty, clock: noClock) }?.description,
                       "\(empty): the file is empty")

        let missing = folder.appendingPathComponent("nope.csv").path
        XCTAssertEqual(expectError(SignalFileError.self) { try SignalReader.products(path: missing, clock: noClock) }?.description,
                       "\(missing): no such file")

        let folderPath = folder.path
        XCTAssertEqual(expectError(SignalFileError.self) { try SignalReader.chat(path: folderPath, clock: noClock) }?.description,
                       "\(folderPath): is a folder, not a file")

        let garbage = try file("chat.jsonl", "hello\nworld\n")
        XCTAssertEqual(expectError(SignalFileError.self) { try SignalReader.chat(path: garbage, clock: noClock) }?.description,
                       "\(garbage): nothing could be read (2 bad lines; line 1: not valid JSON)")

        let headerOnly = try file("chat.csv", "t,user,text\n")
        XCTAssertEqual(expectError(SignalFileError.self) { try SignalReader.chat(path: headerOnly, clock: noClock) }?.description,
                       "\(headerOnly): no rows after the header")

        let emptyArray = try file("products.json", "[ ]")
        XCTAssertEqual(expectError(SignalFileError.self) { try SignalReader.products(path: emptyArray, clock: noClock) }?.description,
                       "\(emptyArray): the JSON array is empty")

        let allBadTimes = try file("chat.jsonl", "{\"t\": \"2026-11-20T20:00:00Z\", \"text\": \"x\"}\n")
        XCTAssertEqual(expectError(SignalFileError.self) { try SignalReader.chat(path: allBadTimes, clock: noClock) }?.description,
                       "\(allBadTimes): nothing could be read (1 bad line; line 1: wall-clock time but the recording's start is unknown (give --recording-start))")
    }

    func testUnknownExtensionIsSniffed() throws {
        let lines = try file("chat.txt", "\n  {\"t\": 1, \"user\": \"a\", \"text\": \"json lines\"}\n")
        XCTAssertEqual(try SignalReader.chat(path: lines, clock: noClock).items, [ChatMessage(time: 1, user: "a", text: "json lines")])

        let array = try file("chat.log", "[{\"t\": 2, \"text\": \"array\"}]")
        XCTAssertEqual(try SignalReader.chat(path: array, clock: noClock).items, [ChatMessage(time: 2, user: "", text: "array")])

        let xml = try file("chat.danmaku", "<i><d p=\"3,1,25,1,1,0,u\">xml</d></i>")
        XCTAssertEqual(try SignalReader.chat(path: xml, clock: noClock).items, [ChatMessage(time: 3, user: "u", text: "xml")])

        let csv = try file("chat", "t,user,text\n4,v,csv\n")
        XCTAssertEqual(try SignalReader.chat(path: csv, clock: noClock).items, [ChatMessage(time: 4, user: "v", text: "csv")])
    }

    func testJSONArrayCutShortIsReported() throws {
        let path = try file("products.json", "[\n{\"id\": \"P1\", \"start\": 1, \"end\": 2},\n{\"id\": \"P2\", \"start\": 3, \"end\": 4}\n")
        let products = try SignalReader.products(path: path, clock: noClock)
        XCTAssertEqual(products.items.map(\.id), ["P1", "P2"])
        XCTAssertEqual(products.badLines, [BadLine(line: 3, reason: "the JSON array is not closed with ']' (file cut short?)")])
    }
}
