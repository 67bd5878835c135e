/// One frame of template variables, chained to its enclosing frame.
///
/// Mirrors Jinja's scoping: each loop iteration, macro call, `with` and `set` block body gets a
/// child frame, so `{% set %}` inside them does not leak out (which is why templates use
/// `namespace()`), while `if` bodies share the frame they are in.
final class Scope {
    let parent: Scope?
    private var variables: [String: Value] = [:]

    init(parent: Scope?) {
        self.parent = parent
    }

    func lookup(_ name: String) -> Value? {
        var scope: Scope? = self
        while let s = scope {
            if let v = s.variables[name] { return v }
            scope = s.parent
        }
        return nil
    }

    func set(_ name: String, _ value: Value) {
        variables[name] = value
    }

    func lookupLocal(_ name: String) -> Value? { variables[name] }
}

extension Scope {
    /// Whether `name` is set in this frame itself (not in an enclosing one).
    func hasLocal(_ name: String) -> Bool { lookupLocal(name) != nil }
}
