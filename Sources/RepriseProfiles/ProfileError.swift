/// A profile file that can't be used: which file, where in it, which field, what is allowed.
public struct ProfileError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    public var field: String?
    public var problem: String

    public init(file: String, line: Int?, field: String?, problem: String) {
        self.file = file; self.line = line; self.field = field; self.problem = problem
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ": "
        if let field { s += "\(field): " }
        return s + problem
    }
}
