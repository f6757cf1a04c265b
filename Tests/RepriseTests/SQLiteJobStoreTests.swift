import Foundation
import XCTest
@testable import RepriseJobs

/// The job store contract (`JobStoreContract`) on SQLite, plus what only the SQLite engine has: a
/// file, and its errors.
final class SQLiteJobStoreTests: XCTestCase {
    private var folder: URL!
    private var dbPath: String { folder.appendingPathComponent("state/jobs.sqlite").path }
    private var contract: JobStoreContract!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("jobstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = dbPath
        contract = JobStoreContract(folder: folder) { try SQLiteJobStore(path: path) }
    }

    override func tearDownWithError() throws {
        contract = nil
        try? FileManager.default.removeItem(at: folder)
    }

    func testEnqueueCreatesOneJobPerKindAndNeverTwiceForTheSameIdentity() throws { try contract.enqueueCreatesOneJobPerKindAndNeverTwiceForTheSameIdentity() }
    func testOverridesAreVersionedPerRecordingAndTheNewestIsRead() throws { try contract.overridesAreVersionedPerRecordingAndTheNewestIsRead() }
    func testRerunQueuesAFinishedJobAgainKeepingItsOutputs() throws { try contract.rerunQueuesAFinishedJobAgainKeepingItsOutputs() }
    func testAChangedHashCreatesNewJobs() throws { try contract.aChangedHashCreatesNewJobs() }
    func testClaimTakesLowestPriorityFirstThenOldest() throws { try contract.claimTakesLowestPriorityFirstThenOldest() }
    func testClaimIsExclusiveAcrossThreadsAndStoreInstances() throws { try contract.claimIsExclusiveAcrossThreadsAndStoreInstances() }
    func testClaimRespectsNotBefore() throws { try contract.claimRespectsNotBefore() }
    func testMarkFailedBacksOffThenFailsAtMaxAttempts() throws { try contract.markFailedBacksOffThenFailsAtMaxAttempts() }
    func testMarkDoneAndQuarantined() throws { try contract.markDoneAndQuarantined() }
    func testExpiredLeasesGoBackToTheQueueAndTheirClaimsTurnStale() throws { try contract.expiredLeasesGoBackToTheQueueAndTheirClaimsTurnStale() }
    func testAnExpiredLeaseOnTheLastAttemptFailsTheJob() throws { try contract.anExpiredLeaseOnTheLastAttemptFailsTheJob() }
    func testReleaseOnShutdownGivesTheAttemptBack() throws { try contract.releaseOnShutdownGivesTheAttemptBack() }
    func testRetryRules() throws { try contract.retryRules() }
    func testCancelRules() throws { try contract.cancelRules() }
    func testRemoveFinishedKeepsRowsWhoseInputIsStillThere() throws { try contract.removeFinishedKeepsRowsWhoseInputIsStillThere() }
    func testListingIsNewestFirstAndFiltersByState() throws { try contract.listingIsNewestFirstAndFiltersByState() }
    func testAReopenedStoreSeesTheSameData() throws { try contract.aReopenedStoreSeesTheSameData() }
    func testRenewLeaseExtendsOnlyTheCurrentClaim() throws { try contract.renewLeaseExtendsOnlyTheCurrentClaim() }
    func testSplitChildrenWaitForWhatTheyNeedAndTheStitchFinishesTheParent() throws { try contract.splitChildrenWaitForWhatTheyNeedAndTheStitchFinishesTheParent() }
    func testAChildOutOfAttemptsFailsTheParentAndRetryRunsEveryChildAgain() throws { try contract.aChildOutOfAttemptsFailsTheParentAndRetryRunsEveryChildAgain() }
    func testCancellingTheParentCancelsItsChildren() throws { try contract.cancellingTheParentCancelsItsChildren() }
    func testCancellingAPartCancelsItsWholeJob() throws { try contract.cancellingAPartCancelsItsWholeJob() }
    func testHeartbeatsRecordNodesAndOldOnesDropOut() throws { try contract.heartbeatsRecordNodesAndOldOnesDropOut() }
    func testAWatchFolderIsHeldByOneHolderAtATime() throws { try contract.aWatchFolderIsHeldByOneHolderAtATime() }

    // MARK: - SQLite only

    func testTheStoreCreatesItsFolderAndFile() throws {
        XCTAssertFalse(FileManager.default.fileExists(atPath: dbPath))
        let store = try SQLiteJobStore(path: dbPath)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dbPath), "the store creates its folder and file")
        XCTAssertEqual(store.location, dbPath)
    }

    func testOpenErrorsNameThePath() throws {
        let blocker = folder.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        let path = blocker.appendingPathComponent("jobs.sqlite").path
        XCTAssertThrowsError(try SQLiteJobStore(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path): "), "\(error)")
        }
    }
}
