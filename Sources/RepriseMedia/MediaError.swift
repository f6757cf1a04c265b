import CFFmpeg

/// A real failure from FFmpeg or the media layer: FFmpeg's code and message, plus what we were doing.
/// EAGAIN and end-of-stream are never thrown; they come back as results (see `CodecResult`).
public struct MediaError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var operation: String
    public var message: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
        self.message = ffErrorString(code)
    }

    public init(_ operation: String, message: String) {
        self.code = 0
        self.operation = operation
        self.message = message
    }

    public var description: String {
        code == 0 ? "\(operation): \(message)" : "\(operation): \(message) (\(code))"
    }
}

public func ffErrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    return buffer.withUnsafeMutableBufferPointer { ptr in
        String(cString: cff_err2str(code, ptr.baseAddress, ptr.count))
    }
}

/// Throws a `MediaError` for a negative FFmpeg return code; returns the value otherwise.
@discardableResult
@inline(__always)
public func check(_ result: Int32, _ operation: @autoclosure () -> String) throws -> Int32 {
    if result < 0 { throw MediaError(code: result, operation: operation()) }
    return result
}

public let AVERROR_EOF_VALUE: Int32 = cff_averror_eof()
public let AVERROR_EAGAIN_VALUE: Int32 = cff_averror_eagain()
public let NOPTS: Int64 = cff_nopts_value()
