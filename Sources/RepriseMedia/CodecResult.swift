/// Outcome of a send/receive step. Needing more input and end of stream are ordinary
/// states of a codec, not failures, so they are values here rather than thrown errors.
public enum CodecResult: Equatable, Sendable {
    case ok
    case needsMoreInput
    case endOfStream
}

/// Outcome of reading the next packet from a demuxer.
public enum ReadResult: Equatable, Sendable {
    case packet
    case endOfFile
    /// The file could not be read further (a damaged tail): FFmpeg's code.
    case damaged(Int32)
}
