import XCTest
@testable import RepriseCut
import RepriseMedia

/// The closed-up timeline and the output clock are decided from packet lists alone: no media, no I/O.
final class TimelineTests: XCTestCase {
    let tb = TimeBase(1, 30)  // one tick per frame
    let key = IndexedPacket.decodeStart | IndexedPacket.copyStart

    /// `frames` frames from raw time `start`, closed GOPs of `gop`, no B-frames, at byte positions from `position`.
    func run(_ frames: Int, from start: Int64, gop: Int = 10, position: Int64 = 0, firstKey: Int = 0) -> [IndexedPacket] {
        (0..<frames).map { i in
            IndexedPacket(pts: start + Int64(i), dts: start + Int64(i), duration: 0, position: position + Int64(i) * 100,
                          size: 100, flags: (i - firstKey) % gop == 0 && i >= firstKey ? key : 0)
        }
    }

    func testBackwardJumpIsClosedUpOneFrameAfterTheLastFrame() {
        var packets = run(30, from: 1000) + run(20, from: 5, position: 10_000)
        let runs = TimelineBuilder.build(&packets, timeBase: tb, detectJumps: true)
        XCTAssertEqual(runs.map(\.kind), [.start, .backwardJump])
        XCTAssertEqual(runs[1].firstPacket, 30)
        XCTAssertEqual(runs[1].jump, 5 - 1029)
        XCTAssertEqual(packets.map(\.pts), Array(1000..<1050))
        XCTAssertEqual(runs[1].offset, 1030 - 5)
    }

    func testForwardJumpBeyondTenSecondsIsClosedUpButAStallIsNot() {
        var jumped = run(30, from: 0) + run(30, from: 30 + 30 * 11, position: 10_000)
        XCTAssertEqual(TimelineBuilder.build(&jumped, timeBase: tb, detectJumps: true).map(\.kind), [.start, .forwardJump])
        XCTAssertEqual(jumped.map(\.pts), Array(0..<60))
        var stalled = run(30, from: 0) + run(30, from: 30 + 30 * 9, position: 10_000)
        XCTAssertEqual(TimelineBuilder.build(&stalled, timeBase: tb, detectJumps: true).count, 1, "a 9-s stall keeps its real times")
        XCTAssertEqual(stalled[30].pts, 300)
    }

    func testContainersWithoutDiscontinuitiesAreLeftAlone() {
        var packets = run(30, from: 1000) + run(20, from: 5, position: 10_000)
        XCTAssertEqual(TimelineBuilder.build(&packets, timeBase: tb, detectJumps: false).count, 1)
        XCTAssertEqual(packets[30].pts, 5)
    }

    func testARunThatBeginsMidGOPLosesItsUndecodableFrames() {
        // The second capture starts 4 frames before its first keyframe.
        var packets = run(30, from: 0) + run(24, from: 500, position: 10_000, firstKey: 4)
        let runs = TimelineBuilder.build(&packets, timeBase: tb, detectJumps: true)
        XCTAssertEqual(runs[1].undecodableFrames, 4)
        XCTAssertEqual((30..<34).map { packets[$0].isUndecodable }, [true, true, true, true])
        XCTAssertEqual(packets[34].pts, 30, "the first decodable frame follows the last frame before the reset")
        let planner = CutPlanner(packets: packets, timeBase: tb, origin: 0, runs: runs)
        XCTAssertEqual(planner.order.count, 50)
        XCTAssertEqual(planner.order.map { planner.packets[$0].pts }, Array(0..<50))
    }

    func testLeadingUndecodableFramesOfTheRecordingAreNotPartOfIt() {
        var packets = run(40, from: 100, firstKey: 7)
        let runs = TimelineBuilder.build(&packets, timeBase: tb, detectJumps: true)
        XCTAssertEqual(runs.first?.undecodableFrames, 7)
        XCTAssertEqual(CutPlanner(packets: packets, timeBase: tb, origin: 100, runs: runs).order.count, 33)
    }

    func testOnePacketWithADamagedTimestampIsNotANewRun() {
        var packets = run(30, from: 0)
        packets[12].dts = 90_000; packets[12].pts = 90_000
        let runs = TimelineBuilder.build(&packets, timeBase: tb, detectJumps: true)
        XCTAssertEqual(runs.count, 1)
        XCTAssertNotEqual(packets[12].flags & IndexedPacket.corrupt, 0)
        XCTAssertEqual(packets[13].pts, 13)
    }

    func testParameterChangeWithoutAJumpKeepsTimes() {
        var packets = run(40, from: 0)
        let runs = TimelineBuilder.build(&packets, timeBase: tb, parameterChanges: [20: 1], detectJumps: true)
        XCTAssertEqual(runs.map(\.kind), [.start, .parameterChange])
        XCTAssertEqual(runs[1].parameterSets, 1)
        XCTAssertEqual(packets.map(\.pts), Array(0..<40))
    }

    func testPlannerSplitsARangeAtARunAndReencodesARunWithOtherParameterSets() throws {
        var packets = run(30, from: 1000) + run(30, from: 5, position: 10_000)
        let runs = TimelineBuilder.build(&packets, timeBase: tb, parameterChanges: [30: 1], detectJumps: true)
        let planner = CutPlanner(packets: packets, timeBase: tb, origin: 1000, runs: runs)
        let plans = try planner.plan([RangeRequest(from: .frame(5), to: .frame(55))], mode: .smart)
        XCTAssertEqual(plans.count, 2)
        XCTAssertEqual(plans.map(\.request), [0, 0])
        XCTAssertEqual(plans.map(\.frameCount), [25, 25])
        XCTAssertEqual(plans[1].outputOffset, 25, "laid end to end")
        XCTAssertNotNil(plans[0].copy, "the first run's whole GOPs are copied")
        XCTAssertNil(plans[1].copy, "the second run's parameter sets aren't the output's: re-encoded")
        XCTAssertNotNil(plans[1].reencodeReason)
        XCTAssertEqual(plans[0].packetSpan.upperBound, 30, "no decode span crosses into the next run")
    }

    func testMapFindsARunByBytePosition() {
        var packets = run(30, from: 1000) + run(30, from: 5, position: 10_000)
        var index = PacketIndex(header: .init(version: PacketIndex.version, fileSize: 0, modificationTime: 0, inode: 0, streamIndex: 0,
                                              timeBaseNum: 1, timeBaseDen: 30, codec: "h264", formatName: "mpegts",
                                              startTimeMicros: 0), packets: [])
        index.header.runs = TimelineBuilder.build(&packets, timeBase: tb, detectJumps: true)
        index.header.audioRuns = [AudioRunStart(position: 0, offset: 0), AudioRunStart(position: 9_950, offset: 1025)]
        let map = TimelineMap(index: index)
        XCTAssertFalse(map.isIdentity)
        XCTAssertEqual(map.videoOffset(position: 2_900), 0)
        XCTAssertEqual(map.videoOffset(position: 10_000), 1025)
        // Audio of the new run may come before its first video packet in the file.
        XCTAssertEqual(map.audioOffset(position: 9_960, timeBase: TimeBase(1, 30)), 1025)
        XCTAssertEqual(map.audioOffset(position: 9_940, timeBase: TimeBase(1, 30)), 0)
    }

    // MARK: the output clock

    func testOneDecodeDelayForTheWholeOutput() {
        // A re-encoded head (presentation order), copied GOPs with B-frames (decode order), a re-encoded tail.
        let writeOrder: [Int64] = [0, 1, 2] + [3, 6, 4, 5, 7, 10, 8, 9] + [11, 12]
        var clock = OutputClock(writeOrder: writeOrder)
        XCTAssertEqual(clock.delay, 1)
        let dts = writeOrder.map { _ in clock.next() }
        XCTAssertEqual(dts, [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
        for (d, p) in zip(dts, writeOrder) { XCTAssertLessThanOrEqual(d, p) }
        XCTAssertEqual(Set(zip(dts, dts.dropFirst()).map { $1 - $0 }), [1], "every step a whole frame")
    }

    func testMinimumDelayForAnEncoderThatReordersItself() {
        var clock = OutputClock(writeOrder: [0, 1, 2, 3], minimumDelay: 2)
        XCTAssertEqual(clock.delay, 2)
        XCTAssertEqual([clock.next(), clock.next(), clock.next(), clock.next()], [-2, -1, 0, 1])
    }

    func testFrameScheduleFillsWhatADamagedPacketLost() throws {
        let packets = run(10, from: 0)
        let planner = CutPlanner(packets: packets, timeBase: tb, origin: 0)
        var schedule = FrameSchedule(planner: planner, keep: 2..<8)
        XCTAssertEqual(schedule.count, 6)
        XCTAssertEqual(Array(schedule.admit(2).missed), [])
        let (missed, deliver) = schedule.admit(5)
        XCTAssertEqual(Array(missed), [3, 4])
        XCTAssertTrue(deliver)
        XCTAssertFalse(schedule.admit(99).deliver, "a time the plan doesn't have is not delivered")
        XCTAssertEqual(schedule.filled, 4)
    }
}
