/// The global functions of the chat-template environment: Jinja's `range`, `namespace`, `dict`
/// (with the sandbox's `range` cap of 100 000 items) and transformers' `raise_exception` and
/// `strftime_now`.
enum Globals {
    /// The sandboxed environment's `MAX_RANGE`.
    static let maxRange = 100_000

    static func call(_ builtin: Builtin, _ args: Arguments, _ interpreter: Interpreter,
                     _ location: SourceLocation) throws(ChatTemplateError) -> Value {
        switch builtin {
        case .range:
            var bounds: [Int] = []
            for v in args.positional {
                guard let i = v.index else {
                    throw location.runtimeError("'\(v.typeName)' object cannot be interpreted as an integer")
                }
                bounds.append(i)
            }
            guard (1...3).contains(bounds.count) else {
                throw location.runtimeError("range expected 1 to 3 arguments, got \(bounds.count)")
            }
            let start = bounds.count == 1 ? 0 : bounds[0]
            let stop = bounds.count == 1 ? bounds[0] : bounds[1]
            let step = bounds.count == 3 ? bounds[2] : 1
            if step == 0 { throw location.runtimeError("range() arg 3 must not be zero") }
            let span = step > 0 ? Double(stop) - Double(start) : Double(start) - Double(stop)
            let count = span <= 0 ? 0 : Int((span / Double(abs(step))).rounded(.up))
            if count > maxRange {
                throw .limitExceeded("range too big: the sandbox blocks ranges larger than \(maxRange) items")
            }
            return .list((0..<count).map { .int(start + $0 * step) })
        case .namespace:
            let ns = Namespace()
            for v in args.positional {
                guard case .dict(let d) = v else {
                    throw location.runtimeError("namespace() positional argument must be a dict, not \(v.typeName)")
                }
                for (k, value) in zip(d.keys, d.values) { ns.attributes.set(k, value) }
            }
            for (name, value) in args.keywords { ns.attributes.set(.string(name), value) }
            return .namespace(ns)
        case .dict:
            var d = OrderedDict()
            for v in args.positional {
                guard case .dict(let other) = v else {
                    throw location.runtimeError("dict() positional argument must be a dict, not \(v.typeName)")
                }
                for (k, value) in zip(other.keys, other.values) { d.set(k, value) }
            }
            for (name, value) in args.keywords { d.set(.string(name), value) }
            return .dict(d)
        case .raiseException:
            throw .raised(PythonFormatting.str(args.value(0, "message") ?? .string("")))
        case .strftimeNow:
            guard case .string(let format)? = args.value(0, "format") else {
                throw location.runtimeError("strftime_now() argument must be a string")
            }
            return .string(Strftime.format(format, date: interpreter.now, timeZone: interpreter.timeZone))
        }
    }
}
