import XCTest

/// The error `body` throws, as an `E`; fails the test if it throws nothing or another kind of error.
func expectError<E: Error, T>(_ type: E.Type, _ body: () throws -> T,
                              file: StaticString = #filePath, line: UInt = #line) -> E? {
    do {
        _ = try body()
        XCTFail("no error thrown, expected \(E.self)", file: file, line: line)
    } catch let error as E {
        return error
    } catch {
        XCTFail("expected \(E.self), got \(error)", file: file, line: line)
    }
    return nil
}
