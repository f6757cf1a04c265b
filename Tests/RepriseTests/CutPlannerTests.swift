import XCTest
@testable import RepriseCut
import RepriseMedia

/// The planner decides from the packet index alone, so these run with no media and no I/O.
final class CutPlannerTests: XCTestCase {
    let tb = TimeBase(1, 30)  // one tick per frame keeps the arithmetic readable

    /// Closed GOPs of `gop` frames, no B-frames: decode order = presentation order.
    func closedGOPs(frames: Int, gop: Int) -> [IndexedPacket] {
        (0..<frames).map { i in
            IndexedPacket(pts: Int64(i), dts: Int64(i), duration: 1, position: Int64(i * 100), size: 100,
                          flags: i % gop == 0 ? IndexedPacket.decodeStart | IndexedPacket.copyStart | IndexedPacket.containerKey : 0)
        }
    }

    /// x265-style open GOPs: each CRA (after the first IDR) is followed in decode order by two
    /// RASL pictures presented just before it.
    func openGOPs(groups: Int, gop: Int) -> [IndexedPacket] {
        var out: [IndexedPacket] = []
        var dts: Int64 = -2
        func add(_ pts: Int, _ flags: UInt8) {
            out.append(IndexedPacket(pts: Int64(pts), dts: dts, duration: 1, position: dts * 100, size: 100, flags: flags))
            dts += 1
        }
        for g in 0..<groups {
            let base = g * gop
            add(base, g == 0 ? IndexedPacket.decodeStart | IndexedPacket.copyStart : IndexedPacket.decodeStart)
            if g > 0 { add(base - 2, IndexedPacket.leading); add(base - 1, IndexedPacket.leading) }
            let lastTrailing = g == groups - 1 ? base + gop - 1 : base + gop - 3
            for p in (base + 1)...lastTrailing { add(p, 0) }
        }
        return out
    }

    func planner(_ packets: [IndexedPacket], origin: Int64 = 0) -> CutPlanner {
        CutPlanner(packets: packets, timeBase: tb, origin: origin)
    }

    func range(_ a: String, _ b: String) -> RangeRequest { RangeRequest(from: TimeSpec(a)!, to: TimeSpec(b)!) }

    func testCutOnKeyframesIsAPureCopy() throws {
        let p = try planner(closedGOPs(frames: 90, gop: 30)).plan(range("f30", "f60"), mode: .smart)
        XCTAssertNil(p.head)
        XCTAssertNil(p.tail)
        XCTAssertEqual(p.copy?.packets, 30..<60)
        XCTAssertEqual(p.frameCount, 30)
        XCTAssertEqual(p.firstPTS, 30)
        XCTAssertEqual(p.endPTS, 60)
    }

    func testOneFrameAfterAKeyframeReencodesOnlyTheEdges() throws {
        let p = try planner(closedGOPs(frames: 120, gop: 30)).plan(range("f31", "f95"), mode: .smart)
        XCTAssertEqual(p.head, ReencodeStep(decode: 30..<60, keep: 31..<60))
        XCTAssertEqual(p.copy?.packets, 60..<90)
        XCTAssertEqual(p.tail, ReencodeStep(decode: 90..<95, keep: 90..<95))
        XCTAssertEqual(p.frameCount, 64)
        XCTAssertEqual(p.reencodedFrames, 29 + 5)
    }

    func testOneFrameBeforeAKeyframeDecodesFromThePreviousGOP() throws {
        let p = try planner(closedGOPs(frames: 90, gop: 30)).plan(range("f29", "f90"), mode: .smart)
        XCTAssertEqual(p.head, ReencodeStep(decode: 0..<30, keep: 29..<30))
        XCTAssertEqual(p.copy?.packets, 30..<90)
        XCTAssertNil(p.tail)
    }

    func testRangeWithNoWholeGOPIsReencodedWhole() throws {
        let p = try planner(closedGOPs(frames: 90, gop: 30)).plan(range("f31", "f40"), mode: .smart)
        XCTAssertNil(p.copy)
        XCTAssertEqual(p.head, ReencodeStep(decode: 30..<40, keep: 31..<40))
        XCTAssertEqual(p.frameCount, 9)
    }

    func testExactModeNeverCopies() throws {
        let p = try planner(closedGOPs(frames: 90, gop: 30)).plan(range("f30", "f60"), mode: .exact)
        XCTAssertNil(p.copy)
        XCTAssertEqual(p.head?.keep, 30..<60)
        XCTAssertEqual(p.reencodedFrames, 30)
    }

    func testKeyframeModeWidensToGOPBoundaries() throws {
        let p = try planner(closedGOPs(frames: 120, gop: 30)).plan(range("f31", "f61"), mode: .keyframe)
        XCTAssertEqual(p.copy?.packets, 30..<90)
        XCTAssertEqual(p.firstPTS, 30)
        XCTAssertEqual(p.endPTS, 90)
        XCTAssertNil(p.head)
    }

    func testSecondsAreMeasuredFromTheRecordingsStart() throws {
        // Timestamps starting far from 0: user time 1.0 s is origin + 30 ticks.
        let packets = closedGOPs(frames: 90, gop: 30).map { p -> IndexedPacket in
            var q = p; q.pts += 900_000; q.dts += 900_000; return q
        }
        let p = try planner(packets, origin: 900_000).plan(range("1", "2"), mode: .smart)
        XCTAssertEqual(p.firstPTS, 900_030)
        XCTAssertEqual(p.copy?.packets, 30..<60)
    }

    func testOpenGOPCopyStartsAtCRAWithoutItsLeadingPictures() throws {
        let packets = openGOPs(groups: 4, gop: 30)
        let p = try planner(packets).plan(range("f31", "f100"), mode: .smart)
        let cra60 = packets.firstIndex { $0.pts == 60 }!
        let rasl = Set(packets.indices.filter { packets[$0].isLeading && (58...59).contains(packets[$0].pts) })
        XCTAssertEqual(rasl.count, 2)
        XCTAssertEqual(p.copy?.packets.lowerBound, cra60)
        XCTAssertEqual(p.copy?.dropped, rasl)
        XCTAssertEqual(p.copy?.relabelAsBLA, cra60)
        // The head decodes from the CRA at 30 through the dropped RASL pictures and keeps 31..<60.
        let cra30 = packets.firstIndex { $0.pts == 30 }!
        XCTAssertEqual(p.head?.decode, cra30..<(rasl.max()! + 1))
        XCTAssertEqual(p.head?.keep, 31..<60)
        // The tail needs the RASL pictures of the CRA at 90 (88, 89), so it decodes from the CRA at 60.
        XCTAssertEqual(p.tail?.decode.lowerBound, cra60)
        XCTAssertEqual(p.tail?.keep, 88..<100)
        XCTAssertEqual(p.frameCount, 69)
        // Every frame is written exactly once: copied (not dropped) + re-encoded.
        XCTAssertEqual(p.copiedPackets + p.reencodedFrames, p.frameCount)
    }

    func testReelRangesAreLaidEndToEnd() throws {
        let plans = try planner(closedGOPs(frames: 300, gop: 30)).plan(
            [range("f10", "f20"), range("f100", "f160"), range("f5", "f6")], mode: .smart)
        XCTAssertEqual(plans.map(\.outputOffset), [0, 10, 70])
        XCTAssertEqual(plans.map(\.frameCount), [10, 60, 1])
    }

    func testBadRangesAreRejectedWithTheFileNamed() {
        let pl = planner(closedGOPs(frames: 90, gop: 30))
        for (a, b) in [("f10", "f10"), ("2", "1"), ("4", "5"), ("1", "3.5"), ("f95", "f96")] {
            XCTAssertThrowsError(try pl.plan(range(a, b), mode: .smart), "\(a)..\(b)") { error in
                guard let e = error as? CutError else { return XCTFail("not a CutError: \(error)") }
                XCTAssertEqual(e.path, "input")
                XCTAssertEqual(e.code, .badRange)
            }
        }
        // The last frame is reachable by frame number and by seconds.
        XCTAssertEqual(try pl.plan(range("f89", "f90"), mode: .smart).frameCount, 1)
        XCTAssertEqual(try pl.plan(range("2.9", "3"), mode: .smart).frameCount, 3)
    }
}

final class TimeSpecTests: XCTestCase {
    func testFormats() {
        XCTAssertEqual(TimeSpec("754.2"), .seconds(754.2))
        XCTAssertEqual(TimeSpec("01:02:03.5"), .seconds(3723.5))
        XCTAssertEqual(TimeSpec("2:03"), .seconds(123))
        XCTAssertEqual(TimeSpec("f22626"), .frame(22626))
        XCTAssertEqual(TimeSpec("0"), .seconds(0))
    }

    func testRejects() {
        for bad in ["", "abc", "-1", "1:75", "1:2:3:4", "f", "f-2", "1e3", "1:60.0"] {
            XCTAssertNil(TimeSpec(bad), bad)
        }
    }
}
