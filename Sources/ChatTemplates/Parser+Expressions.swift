/// Expression parsing: one function per precedence level, as in Jinja's parser.
extension Parser {
    /// `parse_tuple`: expressions separated by commas make a tuple; a single one is returned as is.
    mutating func parseTuple(withCondexpr: Bool = true, endNames: Set<String> = [],
                             explicitParentheses: Bool = false) throws(ChatTemplateError) -> Expression {
        let location = current.location
        var items: [Expression] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(endNames) { break }
            items.append(withCondexpr ? try parseExpression() : try parseBinary(1))
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses { throw current.location.syntaxError("expected an expression, got '\(current.description)'") }
        }
        return try node(.tuple(items), location)
    }

    /// Builds a node, refusing expressions nested deeper than the limit before they exist (so
    /// neither evaluation nor deallocation of the tree can recurse without bound).
    mutating func node(_ kind: Expression.Kind, _ location: SourceLocation) throws(ChatTemplateError) -> Expression {
        let e = Expression(kind: kind, location: location)
        if e.height > maxDepth { throw location.syntaxError("expression nesting deeper than \(maxDepth) levels") }
        return e
    }

    /// A full expression including `a if cond else b`.
    mutating func parseExpression() throws(ChatTemplateError) -> Expression {
        var expr = try parseBinary(1)
        while isName("if") {
            let location = advance().location
            softDepth += 1
            defer { softDepth -= 1 }
            let test = try parseBinary(1)
            var otherwise: Expression? = nil
            if skipName("else") {
                try enter(location)
                otherwise = try parseExpression()
                leave()
            }
            expr = try node(.conditional(test: test, then: expr, otherwise: otherwise), location)
        }
        return expr
    }

    /// The precedence level of the binary operator at the current token (Jinja's `parse_or` (1),
    /// `parse_and` (2), `parse_not` (3, prefix), `parse_compare` (4), `parse_math1` (5),
    /// `parse_concat` (6), `parse_math2` (7), `parse_pow` (8)).
    private func binaryLevel() -> Int? {
        switch current.kind {
        case .name("or"): return 1
        case .name("and"): return 2
        case .name("in"): return 4
        case .name("not"): return isName("in", next) ? 4 : nil
        case .op(let o):
            switch o {
            case "==", "!=", "<", "<=", ">", ">=": return 4
            case "+", "-": return 5
            case "~": return 6
            case "*", "/", "//", "%": return 7
            case "**": return 8
            default: return nil
            }
        default: return nil
        }
    }

    /// Binary operators and prefix `not` by precedence climbing: same trees as Jinja's one-function-
    /// per-level parser (all operators left-associative, comparisons chained, `~` flattened), with
    /// fewer stack frames per nesting level.
    mutating func parseBinary(_ minLevel: Int) throws(ChatTemplateError) -> Expression {
        var left = minLevel <= 3 && isName("not") ? try parseNotPrefix() : try parseUnary()
        while let level = binaryLevel(), level >= minLevel {
            switch level {
            case 1, 2: left = try parseLogicalChain(left, isAnd: level == 2)
            case 4: left = try parseComparisonChain(left)
            case 6: left = try parseConcatChain(left)
            default: left = try parseArithmeticChain(left, level)
            }
        }
        return left
    }

    private mutating func parseNotPrefix() throws(ChatTemplateError) -> Expression {
        let location = advance().location
        try enter(location)
        let operand = try parseBinary(3)
        leave()
        return try node(.not(operand), location)
    }

    /// `left or b or c`, `left and b and c`: one flat node.
    private mutating func parseLogicalChain(_ left: Expression, isAnd: Bool) throws(ChatTemplateError) -> Expression {
        var operands = [left]
        while skipName(isAnd ? "and" : "or") { operands.append(try parseBinary(isAnd ? 3 : 2)) }
        return try node(.logical(isAnd: isAnd, operands), left.location)
    }

    /// `left + b - c` (level 5), `left * b // c` (7) or `left ** b ** c` (8): one flat, left-associative
    /// node whose operands are parsed one level up (`**` takes unary operands, as in Jinja).
    private mutating func parseArithmeticChain(_ left: Expression, _ level: Int) throws(ChatTemplateError) -> Expression {
        var steps: [ArithmeticStep] = []
        while binaryLevel() == level {
            let token = advance()
            guard case .op(let o) = token.kind, let op = BinaryOperator(rawValue: o) else {
                throw token.location.syntaxError("unexpected '\(token.description)'")
            }
            let operand = level == 8 ? try parseUnary() : try parseBinary(level + 1)
            steps.append(ArithmeticStep(op: op, operand: operand, location: token.location))
        }
        return try node(.arithmetic(left, steps), left.location)
    }

    /// `left == a < b in c ...`: Python-style chained comparison.
    private mutating func parseComparisonChain(_ left: Expression) throws(ChatTemplateError) -> Expression {
        var steps: [Comparison] = []
        while binaryLevel() == 4 {
            let token = advance()
            let op: ComparisonOperator
            switch token.kind {
            case .name("in"): op = .contains
            case .name("not"):
                advance()
                op = .notContains
            case .op(let o):
                guard let compare = ComparisonOperator(rawValue: o) else { throw token.location.syntaxError("expected a comparison") }
                op = compare
            default:
                throw token.location.syntaxError("expected a comparison")
            }
            steps.append(Comparison(op: op, operand: try parseBinary(5)))
        }
        return try node(.compare(left, steps), left.location)
    }

    /// `left ~ b ~ c`, one flat node.
    private mutating func parseConcatChain(_ left: Expression) throws(ChatTemplateError) -> Expression {
        var parts = [left]
        while skipOp("~") { parts.append(try parseBinary(7)) }
        return try node(.concat(parts), left.location)
    }

    mutating func parseUnary(withFilter: Bool = true) throws(ChatTemplateError) -> Expression {
        try enter(current.location)
        defer { leave() }
        var result = isOp("-") || isOp("+") ? try parseSign() : try parsePrimary()
        result = try parsePostfix(result)
        if withFilter { result = try parseFilterExpression(result) }
        return result
    }

    /// Unary `-x` / `+x`; the operand takes no filters (`-x|abs` is `(-x)|abs`), as in Jinja.
    private mutating func parseSign() throws(ChatTemplateError) -> Expression {
        let token = advance()
        let operand = try parseUnary(withFilter: false)
        return try node(isOp("-", token) ? .negate(operand) : .plus(operand), token.location)
    }

    mutating func parsePrimary() throws(ChatTemplateError) -> Expression {
        if isOp("(") { return try parseParenthesized() }
        if isOp("[") { return try parseListLiteral() }
        if isOp("{") { return try parseDictLiteral() }
        return try parseAtom()
    }

    /// A name, `true`/`false`/`none` (either case), adjacent string literals, or a number.
    private mutating func parseAtom() throws(ChatTemplateError) -> Expression {
        let token = current
        let location = token.location
        switch token.kind {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return try node(.constant(.bool(true)), location)
            case "false", "False": return try node(.constant(.bool(false)), location)
            case "none", "None": return try node(.constant(.none), location)
            default: return try node(.name(n), location)
            }
        case .string(let s):
            advance()
            var text = s
            while case .string(let more) = current.kind {
                text += more
                advance()
            }
            return try node(.constant(.string(text)), location)
        case .integer(let i):
            advance()
            return try node(.constant(.int(i)), location)
        case .float(let d):
            advance()
            return try node(.constant(.float(d)), location)
        default:
            throw location.syntaxError("unexpected '\(token.description)'")
        }
    }

    /// `( ... )`: a parenthesised expression or a tuple.
    private mutating func parseParenthesized() throws(ChatTemplateError) -> Expression {
        advance()
        let inner = try parseTuple(explicitParentheses: true)
        try expectOp(")")
        return inner
    }

    private mutating func parseListLiteral() throws(ChatTemplateError) -> Expression {
        let location = advance().location
        var items: [Expression] = []
        while !isOp("]") {
            if !items.isEmpty { try expectOp(",") }
            if isOp("]") { break }
            items.append(try parseExpression())
        }
        try expectOp("]")
        return try node(.list(items), location)
    }

    private mutating func parseDictLiteral() throws(ChatTemplateError) -> Expression {
        let location = advance().location
        var entries: [DictEntry] = []
        while !isOp("}") {
            if !entries.isEmpty { try expectOp(",") }
            if isOp("}") { break }
            let key = try parseExpression()
            try expectOp(":")
            entries.append(DictEntry(key: key, value: try parseExpression()))
        }
        try expectOp("}")
        return try node(.dict(entries), location)
    }

    mutating func parsePostfix(_ base: Expression) throws(ChatTemplateError) -> Expression {
        var result = base
        while true {
            if isOp(".") {
                let location = advance().location
                let attr = current
                switch attr.kind {
                case .name(let n):
                    advance()
                    result = try node(.attribute(result, n), location)
                case .integer(let i):
                    advance()
                    let index = try node(.constant(.int(i)), attr.location)
                    result = try node(.item(result, index), location)
                default:
                    throw attr.location.syntaxError("expected name or number")
                }
            } else if isOp("[") {
                let location = advance().location
                var args: [Expression] = []
                while !isOp("]") {
                    if !args.isEmpty { try expectOp(",") }
                    args.append(try parseSubscribed())
                }
                try expectOp("]")
                let index = args.count == 1 ? args[0] : try node(.tuple(args), location)
                result = try node(.item(result, index), location)
            } else if isOp("(") {
                result = try parseCall(result)
            } else {
                return result
            }
        }
    }

    /// An index or a slice `start:stop:step` inside `[...]`.
    mutating func parseSubscribed() throws(ChatTemplateError) -> Expression {
        let location = current.location
        var parts: [Expression?] = []
        if skipOp(":") {
            parts.append(nil)
        } else {
            let first = try parseExpression()
            if !skipOp(":") { return first }
            parts.append(first)
        }
        if isOp(":") || isOp("]") || isOp(",") {
            parts.append(nil)
        } else {
            parts.append(try parseExpression())
        }
        if skipOp(":") {
            parts.append(isOp("]") || isOp(",") ? nil : try parseExpression())
        } else {
            parts.append(nil)
        }
        return try node(.slice(parts[0], parts[1], parts[2]), location)
    }

    mutating func parseCall(_ callee: Expression) throws(ChatTemplateError) -> Expression {
        let location = current.location
        let args = try parseCallArguments()
        return try node(.call(callee, args), location)
    }

    mutating func parseCallArguments() throws(ChatTemplateError) -> CallSyntax {
        let open = current.location
        try expectOp("(")
        var args = CallSyntax()
        var requireComma = false
        while !isOp(")") {
            if requireComma {
                try expectOp(",")
                if isOp(")") { break }
            }
            if skipOp("*") {
                guard args.varargs == nil, args.kwargs == nil else { throw open.syntaxError("invalid syntax for function call expression") }
                args.varargs = try parseExpression()
            } else if skipOp("**") {
                guard args.kwargs == nil else { throw open.syntaxError("invalid syntax for function call expression") }
                args.kwargs = try parseExpression()
            } else if case .name(let key) = current.kind, isOp("=", next) {
                guard args.kwargs == nil else { throw open.syntaxError("invalid syntax for function call expression") }
                advance()
                advance()
                args.keywords.append(KeywordArgument(name: key, value: try parseExpression()))
            } else {
                guard args.varargs == nil, args.kwargs == nil, args.keywords.isEmpty else {
                    throw open.syntaxError("invalid syntax for function call expression")
                }
                args.positional.append(try parseExpression())
            }
            requireComma = true
        }
        try expectOp(")")
        return args
    }

    mutating func parseFilterExpression(_ base: Expression) throws(ChatTemplateError) -> Expression {
        var result = base
        while true {
            if isOp("|") {
                for filter in try parseFilterChain(startInline: false) {
                    result = try node(.filter(result, filter), filter.location)
                }
            } else if isName("is") {
                result = try parseTest(result)
            } else if isOp("(") {
                result = try parseCall(result)
            } else {
                return result
            }
        }
    }

    /// `|f1(args)|f2...`; with `startInline` the first filter has no leading `|` (filter blocks).
    mutating func parseFilterChain(startInline: Bool) throws(ChatTemplateError) -> [FilterCall] {
        var filters: [FilterCall] = []
        var inline = startInline
        while isOp("|") || inline {
            if !inline { advance() }
            inline = false
            let location = current.location
            var name = try expectName()
            while skipOp(".") { name += "." + (try expectName()) }
            guard Filters.names.contains(name) || softDepth > 0 else {
                throw location.syntaxError("no filter named '\(name)'")
            }
            let args = isOp("(") ? try parseCallArguments() : CallSyntax()
            filters.append(FilterCall(name: name, arguments: args, location: location))
        }
        return filters
    }

    mutating func parseTest(_ base: Expression) throws(ChatTemplateError) -> Expression {
        let isLocation = advance().location
        let negated = skipName("not")
        let location = current.location
        var name = try expectName()
        while skipOp(".") { name += "." + (try expectName()) }
        guard JinjaTests.names.contains(name) || softDepth > 0 else {
            throw location.syntaxError("no test named '\(name)'")
        }
        var args = CallSyntax()
        if isOp("(") {
            args = try parseCallArguments()
        } else {
            var takesArgument = false
            switch current.kind {
            case .name(let n): takesArgument = !["else", "or", "and"].contains(n)
            case .string, .integer, .float, .op("("), .op("["), .op("{"): takesArgument = true
            default: break
            }
            if takesArgument {
                if isName("is") { throw current.location.syntaxError("you cannot chain multiple tests with is") }
                args.positional = [try parsePostfix(try parsePrimary())]
            }
        }
        let test = try node(.test(base, FilterCall(name: name, arguments: args, location: location)), isLocation)
        return negated ? try node(.not(test), isLocation) : test
    }
}
