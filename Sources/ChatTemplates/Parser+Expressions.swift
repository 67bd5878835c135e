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
            items.append(withCondexpr ? try parseExpression() : try parseOr())
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses { throw current.location.syntaxError("expected an expression, got '\(current.description)'") }
        }
        return Expression(kind: .tuple(items), location: location)
    }

    /// A full expression including `a if cond else b`.
    mutating func parseExpression() throws(ChatTemplateError) -> Expression {
        var expr = try parseOr()
        while isName("if") {
            let location = advance().location
            softDepth += 1
            defer { softDepth -= 1 }
            let test = try parseOr()
            var otherwise: Expression? = nil
            if skipName("else") { otherwise = try parseExpression() }
            expr = Expression(kind: .conditional(test: test, then: expr, otherwise: otherwise), location: location)
        }
        return expr
    }

    mutating func parseOr() throws(ChatTemplateError) -> Expression {
        var left = try parseAnd()
        while isName("or") {
            let location = advance().location
            left = Expression(kind: .or(left, try parseAnd()), location: location)
        }
        return left
    }

    mutating func parseAnd() throws(ChatTemplateError) -> Expression {
        var left = try parseNot()
        while isName("and") {
            let location = advance().location
            left = Expression(kind: .and(left, try parseNot()), location: location)
        }
        return left
    }

    mutating func parseNot() throws(ChatTemplateError) -> Expression {
        if isName("not") {
            let location = advance().location
            try enter(location)
            defer { leave() }
            return Expression(kind: .not(try parseNot()), location: location)
        }
        return try parseCompare()
    }

    mutating func parseCompare() throws(ChatTemplateError) -> Expression {
        let location = current.location
        let first = try parseMath1()
        var steps: [Comparison] = []
        while true {
            if case .op(let o) = current.kind, let op = ComparisonOperator(rawValue: o), op != .contains {
                advance()
                steps.append(Comparison(op: op, operand: try parseMath1()))
            } else if skipName("in") {
                steps.append(Comparison(op: .contains, operand: try parseMath1()))
            } else if isName("not"), isName("in", next) {
                advance()
                advance()
                steps.append(Comparison(op: .notContains, operand: try parseMath1()))
            } else {
                break
            }
        }
        if steps.isEmpty { return first }
        return Expression(kind: .compare(first, steps), location: location)
    }

    mutating func parseMath1() throws(ChatTemplateError) -> Expression {
        var left = try parseConcat()
        while case .op(let o) = current.kind, o == "+" || o == "-" {
            let location = advance().location
            let right = try parseConcat()
            left = Expression(kind: .binary(o == "+" ? .add : .subtract, left, right), location: location)
        }
        return left
    }

    mutating func parseConcat() throws(ChatTemplateError) -> Expression {
        let location = current.location
        var parts = [try parseMath2()]
        while skipOp("~") { parts.append(try parseMath2()) }
        return parts.count == 1 ? parts[0] : Expression(kind: .concat(parts), location: location)
    }

    mutating func parseMath2() throws(ChatTemplateError) -> Expression {
        var left = try parsePow()
        while case .op(let o) = current.kind, ["*", "/", "//", "%"].contains(o) {
            let location = advance().location
            let right = try parsePow()
            left = Expression(kind: .binary(BinaryOperator(rawValue: o)!, left, right), location: location)
        }
        return left
    }

    mutating func parsePow() throws(ChatTemplateError) -> Expression {
        var left = try parseUnary()
        while isOp("**") {
            let location = advance().location
            left = Expression(kind: .binary(.power, left, try parseUnary()), location: location)
        }
        return left
    }

    mutating func parseUnary(withFilter: Bool = true) throws(ChatTemplateError) -> Expression {
        let location = current.location
        try enter(location)
        defer { leave() }
        var node: Expression
        if skipOp("-") {
            node = Expression(kind: .negate(try parseUnary(withFilter: false)), location: location)
        } else if skipOp("+") {
            node = Expression(kind: .plus(try parseUnary(withFilter: false)), location: location)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpression(node) }
        return node
    }

    mutating func parsePrimary() throws(ChatTemplateError) -> Expression {
        let token = current
        let location = token.location
        switch token.kind {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return Expression(kind: .constant(.bool(true)), location: location)
            case "false", "False": return Expression(kind: .constant(.bool(false)), location: location)
            case "none", "None": return Expression(kind: .constant(.none), location: location)
            default: return Expression(kind: .name(n), location: location)
            }
        case .string(let s):
            advance()
            var text = s
            while case .string(let more) = current.kind {
                text += more
                advance()
            }
            return Expression(kind: .constant(.string(text)), location: location)
        case .integer(let i):
            advance()
            return Expression(kind: .constant(.int(i)), location: location)
        case .float(let d):
            advance()
            return Expression(kind: .constant(.float(d)), location: location)
        case .op("("):
            advance()
            let inner = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return inner
        case .op("["):
            advance()
            var items: [Expression] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return Expression(kind: .list(items), location: location)
        case .op("{"):
            advance()
            var entries: [DictEntry] = []
            while !isOp("}") {
                if !entries.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                entries.append(DictEntry(key: key, value: try parseExpression()))
            }
            try expectOp("}")
            return Expression(kind: .dict(entries), location: location)
        default:
            throw location.syntaxError("unexpected '\(token.description)'")
        }
    }

    mutating func parsePostfix(_ base: Expression) throws(ChatTemplateError) -> Expression {
        var node = base
        while true {
            if isOp(".") {
                let location = advance().location
                let attr = current
                switch attr.kind {
                case .name(let n):
                    advance()
                    node = Expression(kind: .attribute(node, n), location: location)
                case .integer(let i):
                    advance()
                    let index = Expression(kind: .constant(.int(i)), location: attr.location)
                    node = Expression(kind: .item(node, index), location: location)
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
                let index = args.count == 1 ? args[0] : Expression(kind: .tuple(args), location: location)
                node = Expression(kind: .item(node, index), location: location)
            } else if isOp("(") {
                node = try parseCall(node)
            } else {
                return node
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
        return Expression(kind: .slice(parts[0], parts[1], parts[2]), location: location)
    }

    mutating func parseCall(_ callee: Expression) throws(ChatTemplateError) -> Expression {
        let location = current.location
        let args = try parseCallArguments()
        return Expression(kind: .call(callee, args), location: location)
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
        var node = base
        while true {
            if isOp("|") {
                for filter in try parseFilterChain(startInline: false) {
                    node = Expression(kind: .filter(node, filter), location: filter.location)
                }
            } else if isName("is") {
                node = try parseTest(node)
            } else if isOp("(") {
                node = try parseCall(node)
            } else {
                return node
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
        guard Tests.names.contains(name) || softDepth > 0 else {
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
        let test = Expression(kind: .test(base, FilterCall(name: name, arguments: args, location: location)),
                              location: isLocation)
        return negated ? Expression(kind: .not(test), location: isLocation) : test
    }
}
