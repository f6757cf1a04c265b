import Foundation

/// Checks a user can act on, made before any work: the input exists and is readable,
/// the output folder exists and is writable, and the output would not overwrite the input.
public enum InputChecks {
    public static func validate(input: String, output: String) throws {
        try validate(input: input)
        try validate(output: output, input: input)
    }

    /// The input exists, is a regular readable file, and is not empty.
    public static func validate(input: String) throws {
        var st = stat()
        guard stat(input, &st) == 0 else {
            throw CutError(errno == ENOENT ? .missingInput : .unreadableInput, path: input,
                           detail: errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw CutError(.unreadableInput, path: input, detail: "not a regular file") }
        guard access(input, R_OK) == 0 else { throw CutError(.unreadableInput, path: input, detail: "permission denied") }
        guard st.st_size > 0 else { throw CutError(.notMedia, path: input, detail: "is empty") }
    }

    /// The output's folder exists and is writable, and the output is not the input.
    public static func validate(output: String, input: String) throws {

        let outURL = URL(fileURLWithPath: output)
        let dir = outURL.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw CutError(.unwritableOutput, path: output, detail: "output folder \(dir) does not exist")
        }
        guard access(dir, W_OK) == 0 else {
            throw CutError(.unwritableOutput, path: output, detail: "output folder \(dir) is not writable")
        }
        if FileManager.default.fileExists(atPath: output) {
            let a = URL(fileURLWithPath: input).resolvingSymlinksInPath().path
            let b = outURL.resolvingSymlinksInPath().path
            if a == b { throw CutError(.unwritableOutput, path: output, detail: "output would overwrite the input") }
        }
    }
}
