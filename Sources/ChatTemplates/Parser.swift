/// Builds the template AST from the token stream, following the structure of Jinja's parser
/// (`subparse`, `parse_statement`, `parse_tuple`, ...), so that what parses (and what is rejected)
/// matches Jinja for the supported subset.
///
/// Statements: `if/elif/else`, `for` (tuple targets, `if` filter, `else`, `recursive`), `set`
/// (expression, namespace attribute and block forms), `macro`, `call`, `filter`, `with`, `break`,
/// `continue` (transformers enables `jinja2.ext.loopcontrols`) and `generation`. Other Jinja tags
/// (`include`, `extends`, `block`, `import`, ...) are syntax errors.
struct Parser {
    var tokens: [Token]
    var index = 0
    let maxDepth: Int
    var depth = 0
    var loopDepth = 0
    /// Inside an `if` or conditional expression unknown filters and tests are only an error when
    /// evaluated (as in Jinja's compiler), elsewhere they are rejected at parse time.
    var softDepth = 0

    init(tokens: [Token], maxDepth: Int) {
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    static func parse(_ source: String, limits: ChatTemplateLimits) throws(ChatTemplateError) -> [Node] {
        var parser = Parser(tokens: try Lexer.tokenize(source), maxDepth: limits.maxNestingDepth)
        let body = try parser.subparse(until: [])
        return body
    }

    // MARK: Token helpers

    var current: Token { tokens[index] }
    var next: Token { tokens[min(index + 1, tokens.count - 1)] }

    @discardableResult
    mutating func advance() -> Token {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    func isName(_ name: String, _ token: Token? = nil) -> Bool {
        if case .name(let n) = (token ?? current).kind { return n == name }
        return false
    }

    func isOp(_ op: String, _ token: Token? = nil) -> Bool {
        if case .op(let o) = (token ?? current).kind { return o == op }
        return false
    }

    mutating func skipOp(_ op: String) -> Bool {
        if isOp(op) { advance(); return true }
        return false
    }

    mutating func skipName(_ name: String) -> Bool {
        if isName(name) { advance(); return true }
        return false
    }

    func unexpected(_ expected: String? = nil) -> ChatTemplateError {
        if let expected {
            return current.location.syntaxError("expected \(expected), got '\(current.description)'")
        }
        return current.location.syntaxError("unexpected '\(current.description)'")
    }

    mutating func expectOp(_ op: String) throws(ChatTemplateError) {
        guard skipOp(op) else { throw unexpected("'\(op)'") }
    }

    mutating func expectName() throws(ChatTemplateError) -> String {
        guard case .name(let n) = current.kind else { throw unexpected("a name") }
        advance()
        return n
    }

    mutating func expectName(_ name: String) throws(ChatTemplateError) {
        guard skipName(name) else { throw unexpected("'\(name)'") }
    }

    mutating func expectBlockEnd() throws(ChatTemplateError) {
        guard current.kind == .blockEnd else { throw unexpected("end of statement block") }
        advance()
    }

    mutating func enter(_ location: SourceLocation) throws(ChatTemplateError) {
        depth += 1
        if depth > maxDepth { throw location.syntaxError("template nesting deeper than \(maxDepth) levels") }
    }

    mutating func leave() { depth -= 1 }

    // MARK: Statements

    /// Parses nodes until one of `endNames` opens a block (left as the current token, after `{%`) or,
    /// when `endNames` is empty, until the end of the template.
    mutating func subparse(until endNames: Set<String>) throws(ChatTemplateError) -> [Node] {
        var body: [Node] = []
        while true {
            switch current.kind {
            case .text:
                body.append(parseText())
            case .variableBegin:
                body.append(try parseOutput())
            case .blockBegin:
                advance()
                if atEndTag(endNames) { return body }
                body.append(try parseStatement())
                try expectBlockEnd()
            case .eof:
                if !endNames.isEmpty { throw unexpectedEnd(endNames) }
                return body
            default:
                throw unexpected()
            }
        }
    }

    private mutating func parseText() -> Node {
        guard case .text(let s) = advance().kind else { return .text("") }
        return .text(s)
    }

    private mutating func parseOutput() throws(ChatTemplateError) -> Node {
        advance()
        let e = try parseTuple()
        guard current.kind == .variableEnd else { throw unexpected("end of print statement") }
        advance()
        return .output(e)
    }

    private func atEndTag(_ endNames: Set<String>) -> Bool {
        if case .name(let n) = current.kind { return endNames.contains(n) }
        return false
    }

    private func unexpectedEnd(_ endNames: Set<String>) -> ChatTemplateError {
        let expected = endNames.sorted().map { "'\($0)'" }.joined(separator: " or ")
        return current.location.syntaxError("unexpected end of template, expected \(expected)")
    }

    /// `parse_statements`: optional `:`, the block end, then a body up to one of `endNames`.
    mutating func parseBody(until endNames: Set<String>, dropNeedle: Bool) throws(ChatTemplateError) -> [Node] {
        _ = skipOp(":")
        try expectBlockEnd()
        let body = try subparse(until: endNames)
        if dropNeedle { advance() }
        return body
    }

    /// The statement tags; a small enum so that dispatching costs little stack per nesting level.
    private enum Tag: String {
        case ifTag = "if", forTag = "for", set, macro, call, filter, with, generation
        case breakTag = "break", continueTag = "continue"
        case include, `import`, from, extends, block, autoescape, `do`, trans, pluralize
    }

    mutating func parseStatement() throws(ChatTemplateError) -> Node {
        let location = current.location
        guard case .name(let name) = current.kind else { throw location.syntaxError("tag name expected") }
        guard let tag = Tag(rawValue: name) else { throw location.syntaxError("encountered unknown tag '\(name)'") }
        try enter(location)
        defer { leave() }
        switch tag {
        case .ifTag: return try parseIf()
        case .forTag: return try parseFor()
        case .set: return try parseSet()
        case .macro: return try parseMacro()
        case .call: return try parseCallBlock()
        case .filter: return try parseFilterBlock()
        case .with: return try parseWith()
        case .generation: return try parseGeneration()
        case .breakTag, .continueTag: return try parseLoopControl()
        default: throw location.syntaxError("unsupported tag '\(name)'")
        }
    }

    mutating func parseLoopControl() throws(ChatTemplateError) -> Node {
        let token = advance()
        guard loopDepth > 0 else { throw token.location.syntaxError("'\(token.description)' outside of a loop") }
        return isName("break", token) ? .breakLoop : .continueLoop
    }

    mutating func parseGeneration() throws(ChatTemplateError) -> Node {
        advance()
        return .scoped(try parseBody(until: ["endgeneration"], dropNeedle: true))
    }

    mutating func parseIf() throws(ChatTemplateError) -> Node {
        advance()
        softDepth += 1
        defer { softDepth -= 1 }
        var branches: [ConditionalBranch] = []
        var otherwise: [Node] = []
        while true {
            let test = try parseTuple(withCondexpr: false)
            let body = try parseBody(until: ["elif", "else", "endif"], dropNeedle: false)
            branches.append(ConditionalBranch(test: test, body: body))
            let end = advance()
            if isName("elif", end) { continue }
            if isName("else", end) {
                otherwise = try parseBody(until: ["endif"], dropNeedle: true)
            }
            break
        }
        return .ifBlock(branches: branches, otherwise: otherwise)
    }

    mutating func parseFor() throws(ChatTemplateError) -> Node {
        let location = advance().location
        let target = try parseAssignTarget(endNames: ["in"])
        try expectName("in")
        let iterable = try parseTuple(withCondexpr: false, endNames: ["recursive"])
        var condition: Expression? = nil
        if skipName("if") { condition = try parseExpression() }
        let recursive = skipName("recursive")
        loopDepth += 1
        let body = try parseBody(until: ["endfor", "else"], dropNeedle: false)
        loopDepth -= 1
        var otherwise: [Node] = []
        if isName("else", advance()) {
            otherwise = try parseBody(until: ["endfor"], dropNeedle: true)
        }
        return .forLoop(ForLoop(target: target, iterable: iterable, condition: condition, body: body,
                                otherwise: otherwise, recursive: recursive, location: location))
    }

    mutating func parseSet() throws(ChatTemplateError) -> Node {
        let location = advance().location
        let target: AssignTarget
        if case .name(let ns) = current.kind, isOp(".", next) {
            advance()
            advance()
            target = .namespaceAttribute(ns, try expectName())
        } else {
            target = try parseAssignTarget(endNames: [])
        }
        if skipOp("=") {
            return .assign(target, try parseTuple(), location)
        }
        let filters = try parseFilterChain(startInline: false)
        let body = try parseBody(until: ["endset"], dropNeedle: true)
        return .assignBlock(target, filters: filters, body: body, location)
    }

    mutating func parseMacro() throws(ChatTemplateError) -> Node {
        let location = advance().location
        let name = try expectName()
        let parameters = try parseSignature()
        let savedLoopDepth = loopDepth
        loopDepth = 0
        let body = try parseBody(until: ["endmacro"], dropNeedle: true)
        loopDepth = savedLoopDepth
        return .macro(MacroDefinition(name: name, parameters: parameters, body: body, location: location))
    }

    mutating func parseSignature() throws(ChatTemplateError) -> [MacroParameter] {
        try expectOp("(")
        var parameters: [MacroParameter] = []
        while !isOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            let location = current.location
            let name = try expectName()
            var defaultValue: Expression? = nil
            if skipOp("=") {
                defaultValue = try parseExpression()
            } else if parameters.contains(where: { $0.defaultValue != nil }) {
                throw location.syntaxError("non-default argument follows default argument")
            }
            parameters.append(MacroParameter(name: name, defaultValue: defaultValue))
        }
        try expectOp(")")
        return parameters
    }

    mutating func parseCallBlock() throws(ChatTemplateError) -> Node {
        let location = advance().location
        let parameters = isOp("(") ? try parseSignature() : []
        let call = try parseExpression()
        guard case .call = call.kind else { throw call.location.syntaxError("expected call") }
        let savedLoopDepth = loopDepth
        loopDepth = 0
        let body = try parseBody(until: ["endcall"], dropNeedle: true)
        loopDepth = savedLoopDepth
        return .callBlock(CallBlock(call: call, callerParameters: parameters, body: body, location: location))
    }

    mutating func parseFilterBlock() throws(ChatTemplateError) -> Node {
        advance()
        let filters = try parseFilterChain(startInline: true)
        let body = try parseBody(until: ["endfilter"], dropNeedle: true)
        return .filterBlock(filters: filters, body: body)
    }

    mutating func parseWith() throws(ChatTemplateError) -> Node {
        advance()
        var bindings: [WithBinding] = []
        while current.kind != .blockEnd {
            if !bindings.isEmpty { try expectOp(",") }
            let target = try parseAssignTarget(endNames: [])
            try expectOp("=")
            bindings.append(WithBinding(target: target, value: try parseExpression()))
        }
        let body = try parseBody(until: ["endwith"], dropNeedle: true)
        return .with(bindings: bindings, body: body)
    }

    /// Names, or tuples of names, separated by commas (`parse_assign_target`).
    mutating func parseAssignTarget(endNames: Set<String>) throws(ChatTemplateError) -> AssignTarget {
        var targets: [AssignTarget] = []
        var isTuple = false
        while true {
            if !targets.isEmpty { try expectOp(",") }
            if isTupleEnd(endNames) || isOp("=") { break }
            targets.append(try parseAssignPrimary())
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            guard let only = targets.first else { throw unexpected("an assignment target") }
            return only
        }
        return .tuple(targets)
    }

    mutating func parseAssignPrimary() throws(ChatTemplateError) -> AssignTarget {
        let token = current
        if case .name(let n) = token.kind {
            if ["true", "false", "True", "False", "none", "None"].contains(n) {
                throw token.location.syntaxError("can't assign to '\(n)'")
            }
            advance()
            return .name(n)
        }
        if skipOp("(") {
            let inner = try parseAssignTarget(endNames: [])
            try expectOp(")")
            return inner
        }
        throw token.location.syntaxError("can't assign to '\(token.description)'")
    }

    func isTupleEnd(_ endNames: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd: return true
        case .op(")"): return true
        case .name(let n): return endNames.contains(n)
        default: return false
        }
    }
}
