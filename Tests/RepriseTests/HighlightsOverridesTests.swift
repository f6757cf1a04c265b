import Foundation
import XCTest

/// Product spans and outputs' details set in the review console, through `reprise highlights
/// --overrides`: a product's clip (and its sidecar) follow the edited span, an unknown id is a note,
/// and an output's edited title, tags and description are what its sidecar says.
final class HighlightsOverridesTests: XCTestCase {
    static let recipe = """
        name: recipe-ov
        shop: 测试小店
        windows: {min: 4, max: 8, snap: 1, min_score: 1.5}
        reel: {min: 4, target: 16, max: 30}
        product_clips: {lead_in: 2, min: 5, max: 10}
        teaser: {seconds: 3, snippets: 3}
        """

    /// A 40-s recording `rec.mp4` with two products (P1 at 5–15 s, P2 at 20–30 s), the recipe, and
    /// the override file written from `overrides`.
    func setUpRecording(_ label: String, overrides: String) throws -> (folder: URL, input: URL, products: URL, overrides: URL) {
        let folder = ScratchSpace.makeFolder(label)
        try Self.recipe.write(to: folder.appendingPathComponent("recipe-ov.yaml"), atomically: true, encoding: .utf8)
        let input = folder.appendingPathComponent("rec.mp4")
        try FileManager.default.copyItem(at: try Fixtures.get(FixtureSpec(seconds: 40)).url, to: input)
        let products = folder.appendingPathComponent("rec.products.json")
        try #"[{"id": "P1", "title": "红色外套", "start": 5, "end": 15}, {"id": "P2", "title": "Blue Bag", "start": 20, "end": 30}]"#
            .write(to: products, atomically: true, encoding: .utf8)
        let file = folder.appendingPathComponent("ov.json")
        try overrides.write(to: file, atomically: true, encoding: .utf8)
        return (folder, input, products, file)
    }

    func highlights(_ s: (folder: URL, input: URL, products: URL, overrides: URL), _ extra: [String]) throws -> JSONValue {
        let run = try Reprise.run(["highlights", s.input.path, "-o", s.folder.appendingPathComponent("out").path, "--products", s.products.path,
                                   "--recipe", "ov", "--profile-dir", s.folder.path, "--forms", "products", "--overrides", s.overrides.path] + extra,
                                  timeout: 300)
        XCTAssertEqual(run.status, 0, run.transcript)
        return try XCTUnwrap(run.summary(), "no plan:\n\(run.transcript)")
    }

    static func range(_ output: JSONValue?) -> [Double] { output?["ranges"]?.array?.first?.array?.compactMap(\.double) ?? [] }

    func testAProductsEditedSpanMakesItsClipAndAnUnknownIdIsANote() throws {
        let s = try setUpRecording("ov-span", overrides: #"{"version": 2, "products": [{"id": "P1", "start": 31, "end": 39}, {"id": "P9", "start": 1, "end": 2}]}"#)
        let plan = try highlights(s, ["--plan-only"])
        let outputs = plan["outputs"]?.array ?? []
        let p1 = outputs.first { $0["path"]?.string?.hasSuffix("rec.product-P1.mp4") ?? false }
        let p2 = outputs.first { $0["path"]?.string?.hasSuffix("rec.product-P2.mp4") ?? false }
        let r1 = Self.range(p1), r2 = Self.range(p2)
        XCTAssertEqual(r1.count, 2, "P1's clip: \(outputs)")
        XCTAssertEqual(r2.count, 2, "P2's clip: \(outputs)")
        // Inside the new span (lead-in 2 s), nowhere near the file's 5–15 s; P2 untouched.
        if r1.count == 2 { XCTAssertTrue(r1[0] >= 29 - 1e-6 && r1[1] <= 39 + 1e-6 && r1[1] - r1[0] >= 5 - 1e-6, "P1's clip \(r1)") }
        if r2.count == 2 { XCTAssertTrue(r2[0] >= 18 - 1e-6 && r2[1] <= 30 + 1e-6, "P2's clip \(r2)") }
        let notes = plan["notes"]?.array?.compactMap(\.string) ?? []
        XCTAssertTrue(notes.contains { $0.contains("product P1: span set in the review console (override v2): 31.000–39.000 s") }, "\(notes)")
        XCTAssertTrue(notes.contains { $0.contains("product P9: not in the recording's product list") }, "\(notes)")
    }

    func testAnOutputsEditedDetailsAreInItsSidecarAfterARun() throws {
        let edit = #"{"products": [{"id": "P1", "start": 31, "end": 39}], "outputs": [{"file": "rec.product-P1.mp4", "title": "我的标题", "tags": ["新品", "red coat"], "description": "Edited.\nTwo lines."}, {"file": "rec.product-P2.mp4", "tags": ["bag"]}]}"#
        let s = try setUpRecording("ov-details", overrides: edit)
        let plan = try highlights(s, ["--json"])
        let outputs = plan["outputs"]?.array ?? []
        let p1 = try XCTUnwrap(outputs.first { $0["path"]?.string?.hasSuffix("rec.product-P1.mp4") ?? false }, "\(outputs)")
        let p2 = try XCTUnwrap(outputs.first { $0["path"]?.string?.hasSuffix("rec.product-P2.mp4") ?? false }, "\(outputs)")
        func sidecar(_ o: JSONValue) throws -> JSONValue {
            try XCTUnwrap(JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: try XCTUnwrap(o["metadata"]?.string)))))
        }
        let one = try sidecar(p1), two = try sidecar(p2)
        XCTAssertEqual(one["title"]?.string, "我的标题")
        XCTAssertEqual(one["tags"]?.array?.compactMap(\.string), ["新品", "red coat"])
        XCTAssertEqual(one["description"]?.string, "Edited.\nTwo lines.")
        XCTAssertEqual(one["source"]?.string, s.input.path)
        // The clip is cut from the edited span, and the sidecar says so.
        let ranges = one["sourceRanges"]?.array?.first?.array?.compactMap(\.double) ?? []
        XCTAssertEqual(ranges, Self.range(p1))
        XCTAssertTrue(ranges.count == 2 && ranges[0] >= 29 - 1e-6 && ranges[1] <= 39 + 1e-6, "P1's clip \(ranges)")
        // Only the fields given: P2 keeps its generated title and description.
        XCTAssertEqual(two["tags"]?.array?.compactMap(\.string), ["bag"])
        XCTAssertEqual(two["title"]?.string, p2["title"]?.string)
        XCTAssertTrue(two["title"]?.string?.contains("Blue Bag") ?? false, "\(two)")
        XCTAssertTrue(two["description"]?.string?.contains("测试小店") ?? false, "\(two)")
    }
}
