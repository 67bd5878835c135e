import Foundation

/// Executes a parsed template for one render: statements, scopes, loops, macros, output capture
/// and the safety limits. A new interpreter is made per render, so a ``ChatTemplate`` can be
/// rendered concurrently.
final class Interpreter {
    let limits: ChatTemplateLimits
    let now: Date
    let timeZone: TimeZone
    private var output = ""
    private var bytesWritten = 0
    private var iterations = 0
    private var callDepth = 0
    private var renderDepth = 0

    /// Control flow out of a statement list (`{% break %}` / `{% continue %}`).
    enum Flow { case normal, breakLoop, continueLoop }

    init(limits: ChatTemplateLimits, now: Date, timeZone: TimeZone) {
        self.limits = limits
        self.now = now
        self.timeZone = timeZone
    }

    /// The frame holding the global functions.
    static func globals() -> Scope {
        let scope = Scope(parent: nil)
        for builtin in [Builtin.range, .namespace, .dict, .raiseException, .strftimeNow] {
            scope.set(builtin.rawValue, .callable(.builtin(builtin)))
        }
        return scope
    }

    func render(_ body: [Node], variables: [String: Value]) throws(ChatTemplateError) -> String {
        let context = Scope(parent: Self.globals())
        for (name, value) in variables { context.set(name, value) }
        _ = try execute(body, Scope(parent: context))
        return output
    }

    // MARK: Output and limits

    func write(_ text: String) throws(ChatTemplateError) {
        bytesWritten += text.utf8.count
        if bytesWritten > limits.maxOutputBytes {
            throw .limitExceeded("output larger than \(limits.maxOutputBytes) bytes")
        }
        output += text
    }

    /// Runs `body` with output redirected into a fresh buffer and returns what it wrote.
    func capture(_ body: () throws(ChatTemplateError) -> Void) throws(ChatTemplateError) -> String {
        let saved = output
        output = ""
        do throws(ChatTemplateError) {
            try body()
        } catch {
            output = saved
            throw error
        }
        let captured = output
        output = saved
        return captured
    }

    func countIteration() throws(ChatTemplateError) {
        iterations += 1
        if iterations > limits.maxIterations {
            throw .limitExceeded("more than \(limits.maxIterations) loop iterations")
        }
    }

    func enterCall() throws(ChatTemplateError) {
        callDepth += 1
        if callDepth > limits.maxCallDepth {
            callDepth -= 1
            throw .limitExceeded("macro or recursive loop calls nested deeper than \(limits.maxCallDepth)")
        }
    }

    func leaveCall() { callDepth -= 1 }

    /// Enters one level of nested evaluation (see ``ChatTemplateLimits/maxRenderDepth``).
    func descend() throws(ChatTemplateError) {
        renderDepth += 1
        if renderDepth > limits.maxRenderDepth {
            renderDepth -= 1
            throw .limitExceeded("template evaluation nested deeper than \(limits.maxRenderDepth) levels")
        }
    }

    func ascend() { renderDepth -= 1 }

    // MARK: Statements

    func execute(_ nodes: [Node], _ scope: Scope) throws(ChatTemplateError) -> Flow {
        try descend()
        defer { ascend() }
        for node in nodes {
            let flow = try execute(node, scope)
            if flow != .normal { return flow }
        }
        return .normal
    }

    /// Executes one statement; the larger cases live in their own functions to keep this frame small.
    private func execute(_ node: Node, _ scope: Scope) throws(ChatTemplateError) -> Flow {
        switch node {
        case .text(let s):
            try write(s)
        case .output(let e):
            try write(PythonFormatting.str(try evaluate(e, scope)))
        case .ifBlock(let branches, let otherwise):
            return try executeIf(branches, otherwise, scope)
        case .forLoop(let loop):
            return try executeFor(loop, scope)
        case .assign(let target, let e, let location):
            try assign(target, try evaluate(e, scope), in: scope, at: location)
        case .assignBlock(let target, let filters, let body, let location):
            try executeAssignBlock(target, filters, body, location, scope)
        case .macro(let definition):
            scope.set(definition.name, .callable(.macro(Macro(definition: definition, closure: scope))))
        case .callBlock(let block):
            try executeCallBlock(block, scope)
        case .filterBlock(let filters, let body):
            try executeFilterBlock(filters, body, scope)
        case .with(let bindings, let body):
            return try executeWith(bindings, body, scope)
        case .scoped(let body):
            return try execute(body, Scope(parent: scope))
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    private func executeIf(_ branches: [ConditionalBranch], _ otherwise: [Node], _ scope: Scope) throws(ChatTemplateError) -> Flow {
        for branch in branches {
            if try evaluate(branch.test, scope).isTruthy { return try execute(branch.body, scope) }
        }
        return try execute(otherwise, scope)
    }

    private func executeFor(_ loop: ForLoop, _ scope: Scope) throws(ChatTemplateError) -> Flow {
        let iterable = try evaluate(loop.iterable, scope)
        return try runLoop(loop, items: try iterate(iterable, at: loop.iterable.location), scope: scope, depth0: 0)
    }

    private func executeAssignBlock(_ target: AssignTarget, _ filters: [FilterCall], _ body: [Node],
                                    _ location: SourceLocation, _ scope: Scope) throws(ChatTemplateError) {
        let inner = Scope(parent: scope)
        var value = Value.string(try capture { () throws(ChatTemplateError) in _ = try execute(body, inner) })
        value = try applyFilters(filters, to: value, scope)
        try assign(target, value, in: scope, at: location)
    }

    private func executeCallBlock(_ block: CallBlock, _ scope: Scope) throws(ChatTemplateError) {
        guard case .call(let callee, let syntax) = block.call.kind else { return }
        let function = try evaluate(callee, scope)
        var args = try evaluateArguments(syntax, scope)
        let callerDefinition = MacroDefinition(name: "caller", parameters: block.callerParameters,
                                               body: block.body, location: block.location)
        args.keywords.append((name: "caller", value: .callable(.macro(Macro(definition: callerDefinition, closure: scope)))))
        try write(PythonFormatting.str(try call(function, args, at: block.call.location)))
    }

    private func executeFilterBlock(_ filters: [FilterCall], _ body: [Node], _ scope: Scope) throws(ChatTemplateError) {
        let inner = Scope(parent: scope)
        let text = Value.string(try capture { () throws(ChatTemplateError) in _ = try execute(body, inner) })
        try write(PythonFormatting.str(try applyFilters(filters, to: text, scope)))
    }

    private func executeWith(_ bindings: [WithBinding], _ body: [Node], _ scope: Scope) throws(ChatTemplateError) -> Flow {
        let inner = Scope(parent: scope)
        for binding in bindings {
            try assign(binding.target, try evaluate(binding.value, scope), in: inner, at: binding.value.location)
        }
        return try execute(body, inner)
    }

    private func applyFilters(_ filters: [FilterCall], to value: Value, _ scope: Scope) throws(ChatTemplateError) -> Value {
        var v = value
        for filter in filters {
            let args = try evaluateArguments(filter.arguments, scope)
            v = try Filters.apply(filter.name, v, args, self, filter.location)
        }
        return v
    }

    func runLoop(_ loop: ForLoop, items: [Value], scope: Scope, depth0: Int) throws(ChatTemplateError) -> Flow {
        var filter: ((Value) throws(ChatTemplateError) -> Bool)? = nil
        if let condition = loop.condition {
            filter = { [unowned self] (item: Value) throws(ChatTemplateError) -> Bool in
                try self.countIteration()
                let testScope = Scope(parent: scope)
                try self.assign(loop.target, item, in: testScope, at: loop.location)
                return try self.evaluate(condition, testScope).isTruthy
            }
        }
        var recurse: (([Value], Int) throws(ChatTemplateError) -> String)? = nil
        if loop.recursive {
            recurse = { [unowned self] (items: [Value], depth: Int) throws(ChatTemplateError) -> String in
                try self.enterCall()
                defer { self.leaveCall() }
                return try self.capture { () throws(ChatTemplateError) in
                    _ = try self.runLoop(loop, items: items, scope: scope, depth0: depth)
                }
            }
        }
        let context = LoopContext(source: items, filter: filter, depth0: depth0, recurse: recurse)
        var iterated = false
        while let item = try context.advance() {
            iterated = true
            try countIteration()
            let iterationScope = Scope(parent: scope)
            try assign(loop.target, item, in: iterationScope, at: loop.location)
            iterationScope.set("loop", .loop(context))
            if try execute(loop.body, iterationScope) == .breakLoop { break }
        }
        if !iterated { return try execute(loop.otherwise, Scope(parent: scope)) }
        return .normal
    }

    func assign(_ target: AssignTarget, _ value: Value, in scope: Scope, at location: SourceLocation) throws(ChatTemplateError) {
        switch target {
        case .name(let name):
            scope.set(name, value)
        case .tuple(let targets):
            let items = try iterate(value, at: location)
            guard items.count == targets.count else {
                throw location.runtimeError(items.count > targets.count
                    ? "too many values to unpack (expected \(targets.count))"
                    : "not enough values to unpack (expected \(targets.count), got \(items.count))")
            }
            for (t, v) in zip(targets, items) { try assign(t, v, in: scope, at: location) }
        case .namespaceAttribute(let name, let attribute):
            guard case .namespace(let ns)? = scope.lookup(name) else {
                throw location.runtimeError("cannot assign attribute on non-namespace object")
            }
            ns.attributes.set(.string(attribute), value)
        }
    }

    /// The items a `for` loop (or unpacking, `list`, ...) sees: list/tuple items, dict keys,
    /// string characters; Undefined is empty.
    func iterate(_ value: Value, at location: SourceLocation) throws(ChatTemplateError) -> [Value] {
        switch value {
        case .undefined: return []
        case .list(let items), .tuple(let items): return items
        case .dict(let d): return d.keys
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        default: throw location.runtimeError("'\(value.typeName)' object is not iterable")
        }
    }

    // MARK: Calls

    func call(_ callee: Value, _ args: Arguments, at location: SourceLocation) throws(ChatTemplateError) -> Value {
        switch callee {
        case .callable(.builtin(let builtin)):
            return try Globals.call(builtin, args, self, location)
        case .callable(.method(let receiver, let name)):
            return try Methods.call(receiver, name, args, self, location)
        case .callable(.macro(let macro)):
            return try callMacro(macro, args, at: location)
        case .loop(let context):
            guard let recurse = context.recurse else {
                throw location.runtimeError("the loop is not recursive; add 'recursive' to call loop(...)")
            }
            guard args.positional.count == 1 else { throw location.runtimeError("loop() takes exactly one argument") }
            return .string(try recurse(try iterate(args.positional[0], at: location), context.depth0 + 1))
        case .undefined(let hint):
            throw location.runtimeError(hint)
        default:
            throw location.runtimeError("'\(callee.typeName)' object is not callable")
        }
    }

    private func callMacro(_ macro: Macro, _ args: Arguments, at location: SourceLocation) throws(ChatTemplateError) -> Value {
        try enterCall()
        defer { leaveCall() }
        let definition = macro.definition
        let scope = Scope(parent: macro.closure)
        let parameters = definition.parameters
        var extraPositional: [Value] = []
        for (i, value) in args.positional.enumerated() {
            if i < parameters.count { scope.set(parameters[i].name, value) } else { extraPositional.append(value) }
        }
        var extraKeywords = OrderedDict()
        for (name, value) in args.keywords {
            if let p = parameters.firstIndex(where: { $0.name == name }) {
                if p < args.positional.count {
                    throw location.runtimeError("macro '\(definition.name)' got multiple values for argument '\(name)'")
                }
                scope.set(name, value)
            } else if name == "caller" {
                scope.set("caller", value)
            } else {
                extraKeywords.set(.string(name), value)
            }
        }
        for parameter in parameters where !scope.hasLocal(parameter.name) {
            if let defaultValue = parameter.defaultValue {
                scope.set(parameter.name, try evaluate(defaultValue, scope))
            } else {
                scope.set(parameter.name, .undefined("parameter '\(parameter.name)' was not provided"))
            }
        }
        scope.set("varargs", .tuple(extraPositional))
        scope.set("kwargs", .dict(extraKeywords))
        let text = try capture { () throws(ChatTemplateError) in _ = try execute(definition.body, scope) }
        return .string(text)
    }
}
