/// The bytes rank 0 publishes to the other tensor-parallel ranks for each step: either a `ForwardBatch` (token
/// ids, each chunk's offset, length, first position and block table, and the logit rows) or "stop". Little-endian
/// 32-bit integers: kind (1 forward, 0 stop), token count, tokens, chunk count, per chunk tokenOffset,
/// tokenCount, firstPosition, table length and table, logit row count, rows.
enum StepPlanCodec {
    enum Plan {
        case forward(ForwardBatch)
        case stop
    }

    static func encode(_ plan: Plan) -> [UInt8] {
        var words: [Int32] = []
        switch plan {
        case .stop:
            words = [0]
        case .forward(let batch):
            words.reserveCapacity(4 + batch.tokens.count + batch.chunks.reduce(0) { $0 + 4 + $1.blockTable.count } + batch.logitRows.count)
            words.append(1)
            words.append(Int32(batch.tokens.count))
            words += batch.tokens
            words.append(Int32(batch.chunks.count))
            for chunk in batch.chunks {
                words += [Int32(chunk.tokenOffset), Int32(chunk.tokenCount), Int32(chunk.firstPosition), Int32(chunk.blockTable.count)]
                words += chunk.blockTable
            }
            words.append(Int32(batch.logitRows.count))
            words += batch.logitRows.map { Int32($0) }
        }
        return words.map(\.littleEndian).withUnsafeBytes { Array($0) }
    }

    static func decode(_ bytes: [UInt8]) throws(TensorParallelError) -> Plan {
        guard bytes.count % 4 == 0, bytes.count >= 4 else { throw .malformedPlan("\(bytes.count) bytes") }
        var words = [Int32](repeating: 0, count: bytes.count / 4)
        words.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
        words = words.map { Int32(littleEndian: $0) }
        var index = 0
        func next() throws(TensorParallelError) -> Int {
            guard index < words.count else { throw .malformedPlan("truncated at word \(index)") }
            index += 1
            return Int(words[index - 1])
        }
        func take(_ count: Int) throws(TensorParallelError) -> ArraySlice<Int32> {
            guard count >= 0, index + count <= words.count else { throw .malformedPlan("truncated at word \(index)") }
            index += count
            return words[(index - count)..<index]
        }
        switch try next() {
        case 0: return .stop
        case 1: break
        case let kind: throw .malformedPlan("unknown kind \(kind)")
        }
        let tokens = Array(try take(try next()))
        var chunks: [ForwardBatch.Chunk] = []
        for _ in 0..<max(0, try next()) {
            let offset = try next(), count = try next(), first = try next()
            let table = Array(try take(try next()))
            guard offset >= 0, count > 0, offset + count <= tokens.count, first >= 0 else {
                throw .malformedPlan("chunk \(offset)+\(count) outside \(tokens.count) tokens")
            }
            chunks.append(ForwardBatch.Chunk(tokenOffset: offset, tokenCount: count, firstPosition: first, blockTable: table))
        }
        let rows = try take(try next()).map { Int($0) }
        guard index == words.count else { throw .malformedPlan("\(words.count - index) trailing words") }
        return .forward(ForwardBatch(tokens: tokens, chunks: chunks, logitRows: rows))
    }
}
