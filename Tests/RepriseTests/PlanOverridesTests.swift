import Foundation
import XCTest
@testable import RepriseHighlights

/// The review console's plan overrides: read and checked (windows, products' spans, outputs'
/// details), merged over the stored version, and products' spans applied to the product list.
final class PlanOverridesTests: XCTestCase {
    func parse(_ text: String) throws -> PlanOverrides { try PlanOverrides.parse(Data(text.utf8), source: "ov.json") }

    func testParsesEveryEditKind() throws {
        let o = try parse(#"{"windows": [[1, 3]], "products": [{"id": "P1", "start": 2.5, "end": 9}], "outputs": [{"file": "rec.reel.mp4", "title": "新品", "tags": ["a", "b"], "description": "line one\nline two"}]}"#)
        XCTAssertEqual(o.windows, [[1, 3]])
        XCTAssertEqual(o.products, [ProductEdit(id: "P1", start: 2.5, end: 9)])
        XCTAssertEqual(o.outputs, [OutputEdit(file: "rec.reel.mp4", title: "新品", tags: ["a", "b"], description: "line one\nline two")])
        // An override with windows only (what older versions stored) still reads.
        XCTAssertEqual(try parse(#"{"windows": [[1, 3]]}"#).products, nil)
    }

    func testBadValuesAreRefusedWithAClearMessage() throws {
        let long = String(repeating: "x", count: 201)
        let tags51 = "[" + (0..<51).map { "\"t\($0)\"" }.joined(separator: ", ") + "]"
        let cases: [(String, String)] = [
            (#"{"products": [{"id": "P1", "start": 5, "end": 5}]}"#, "product P1 must have 0 <= start < end"),
            (#"{"products": [{"id": "P1", "start": -1, "end": 5}]}"#, "product P1 must have 0 <= start < end"),
            (#"{"products": [{"id": "P1", "start": 1, "end": 2}, {"id": "P1", "start": 3, "end": 4}]}"#, "product P1 is given twice"),
            (#"{"products": [{"id": "", "start": 1, "end": 2}]}"#, "product 1 needs an id"),
            (#"{"outputs": [{"file": "../x.mp4", "title": "t"}]}"#, "file must be an output's file name"),
            (#"{"outputs": [{"file": "a.mp4"}]}"#, "give a title, tags or a description"),
            (#"{"outputs": [{"file": "a.mp4", "title": "\#(long)"}]}"#, "title must be at most 200 characters"),
            (#"{"outputs": [{"file": "a.mp4", "title": "a\u0007b"}]}"#, "title must be at most 200 characters, no control characters"),
            (#"{"outputs": [{"file": "a.mp4", "tags": [""]}]}"#, "at most 50 tags, each 1 to 100 characters"),
            (#"{"outputs": [{"file": "a.mp4", "tags": \#(tags51)}]}"#, "at most 50 tags"),
            (#"{"outputs": [{"file": "a.mp4", "description": "\#(String(repeating: "d", count: 5001))"}]}"#, "description must be at most 5000"),
            (#"{"outputs": [{"file": "a.mp4", "title": "a"}, {"file": "a.mp4", "tags": ["b"]}]}"#, "output a.mp4 is given twice"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try parse(text), text) { error in
                let description = (error as? PlanOverridesError)?.description ?? "\(error)"
                XCTAssertTrue(description.hasPrefix("ov.json: "), description)
                XCTAssertTrue(description.contains(message), "\(description) should say \(message)")
            }
        }
        let many = (0...1000).map { #"{"id": "p\#($0)", "start": 1, "end": 2}"# }.joined(separator: ",")
        XCTAssertThrowsError(try parse(#"{"products": [\#(many)]}"#)) { XCTAssertTrue("\($0)".contains("at most 1000")) }
        // A span past the recording's end, once its length is known.
        let past = try parse(#"{"products": [{"id": "P1", "start": 50, "end": 61}]}"#)
        XCTAssertNoThrow(try past.check(duration: 61, source: "ov.json"))
        XCTAssertThrowsError(try past.check(duration: 60, source: "ov.json")) {
            XCTAssertTrue("\($0)".contains("product P1 ends at 61.000 s, after the recording (60.000 s)"), "\($0)")
        }
    }

    func testMergeReplacesWindowsAndMergesProductsByIdAndOutputsByFile() {
        let older = PlanOverrides(version: 3, windows: [[1, 2]],
                                  products: [ProductEdit(id: "P1", start: 1, end: 5), ProductEdit(id: "P2", start: 6, end: 8)],
                                  outputs: [OutputEdit(file: "r.reel.mp4", title: "old", tags: ["x"]), OutputEdit(file: "r.teaser.mp4", title: "t")])
        let newer = PlanOverrides(products: [ProductEdit(id: "P2", start: 7, end: 9), ProductEdit(id: "P3", start: 10, end: 11)],
                                  outputs: [OutputEdit(file: "r.reel.mp4", description: "new"), OutputEdit(file: "r.short-1.mp4", tags: ["s"])])
        let merged = older.merged(with: newer)
        XCTAssertNil(merged.version, "the store numbers the new version")
        XCTAssertEqual(merged.windows, [[1, 2]], "no windows given: the older ones stay")
        XCTAssertEqual(merged.products, [ProductEdit(id: "P1", start: 1, end: 5), ProductEdit(id: "P2", start: 7, end: 9),
                                         ProductEdit(id: "P3", start: 10, end: 11)])
        XCTAssertEqual(merged.outputs, [OutputEdit(file: "r.reel.mp4", title: "old", tags: ["x"], description: "new"),
                                        OutputEdit(file: "r.teaser.mp4", title: "t"), OutputEdit(file: "r.short-1.mp4", tags: ["s"])])
        XCTAssertEqual(merged.merged(with: PlanOverrides(windows: [[4, 6]])).windows, [[4, 6]], "windows given replace the older ones")
        XCTAssertEqual(PlanOverrides().merged(with: PlanOverrides(windows: [[4, 6]])), PlanOverrides(windows: [[4, 6]]))
    }

    func testProductEditsReplaceTheirSpansAndNameUnknownIds() {
        let spans = [ProductSpan(id: "P1", title: "红色外套", start: 5, end: 15), ProductSpan(id: "P2", title: "Bag", start: 20, end: 30),
                     ProductSpan(id: "P1", title: "红色外套", start: 33, end: 36)]
        let (edited, unknown) = ProductEdit.apply([ProductEdit(id: "P1", start: 31, end: 39), ProductEdit(id: "P9", start: 1, end: 2)], to: spans)
        XCTAssertEqual(edited, [ProductSpan(id: "P2", title: "Bag", start: 20, end: 30), ProductSpan(id: "P1", title: "红色外套", start: 31, end: 39)],
                       "one span for the edited product, its title kept, in time order")
        XCTAssertEqual(unknown, ["P9"])
    }

    func testOutputEditGoesOverTheSidecarsFields() throws {
        let sidecar: [String: Any] = ["title": "generated", "tags": ["g"], "description": "gen", "source": "/in/rec.mp4"]
        let value = OutputEdit(file: "rec.reel.mp4", tags: ["新", "tag"]).applied(to: sidecar)
        XCTAssertEqual(value["title"] as? String, "generated")
        XCTAssertEqual(value["tags"] as? [String], ["新", "tag"])
        XCTAssertEqual(value["source"] as? String, "/in/rec.mp4")
        let text = String(decoding: try OutputEdit.sidecarData(value), as: UTF8.self)
        XCTAssertTrue(text.contains(#""source" : "/in/rec.mp4""#), text)
    }
}
