import CFloatKernels
import CGGUFQuants
import Foundation
import TestSupport
import XCTest
@testable import Kernels

/// The integer linear layer over GGUF blocks (`QuantizedMatrix`) against a float reference: the decoded weights
/// times the quantised-then-decoded activations, summed in Double. Weight rows are made of ggml's own random
/// reference blocks (`golden/ggml-quants`) of every quantised type.
///
/// The bound: each group of 16 contributes `fl(fl(s · d) · I) + fl(m · fl(d · Σq))` with `I` the exact integer
/// dot product (exact in float32 too, |I| < 2²⁴), and the k/16 contributions are summed in float32 (FMA or not).
/// Every rounding is a relative error of at most u = 2⁻²⁴ on a term bounded by `T = Σ_i (|s| (|q_i| + 32) + |m|) ·
/// |a_i|` (the kernel may shift a type's values by up to 16 and its mins by as many scales), and the decoded
/// reference weights themselves carry one rounding of `s q + m`; so `|y − reference| ≤ (k/16 + 6) · u · T`.
final class QuantizedLinearTests: XCTestCase {
    private static let quantizedTypes = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
                                         "IQ4_NL", "IQ4_XS"]

    /// ggml's 48 reference blocks of `type`: (ggml id, block elements, block bytes, blocks).
    private func referenceBlocks(_ type: String) throws -> (id: UInt32, elements: Int, bytes: Int, blocks: [[UInt8]]) {
        let data = try Data(contentsOf: SharedData.root.appendingPathComponent("golden/ggml-quants/\(type).json"))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let blocks = (json["blocks_hex"] as! [String]).map { hex in
            stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
        }
        return ((json["ggml_type_id"] as! NSNumber).uint32Value, (json["block_elements"] as! NSNumber).intValue,
                (json["block_bytes"] as! NSNumber).intValue, blocks)
    }

    /// A weight row of `k` values of one type: blocks picked from the reference set by `seed`.
    private struct EncodedRow {
        let type: UInt32
        let bytes: [UInt8]
    }

    private func rows(types: [String], count: Int, k: Int, random: inout TestRandom) throws -> [EncodedRow] {
        let sets = try types.map(referenceBlocks)
        return (0..<count).map { r in
            let set = sets[r % sets.count]
            let bytes = (0..<(k / set.elements)).flatMap { _ in set.blocks[random.int(set.blocks.count)] }
            return EncodedRow(type: set.id, bytes: bytes)
        }
    }

    /// Decoded weights, and per weight the magnitude `|s| (|q| + 32) + |m|` of its unpacked form.
    private func decoded(_ row: EncodedRow, k: Int) -> (values: [Float], magnitudes: [Double]) {
        var values = [Float](repeating: 0, count: k), q = [Int8](repeating: 0, count: k)
        var scale = [Float](repeating: 0, count: k / 16), min = [Float](repeating: 0, count: k / 16)
        row.bytes.withUnsafeBytes {
            scalellm_ggml_decode(Int32(row.type), $0.baseAddress!, k, &values)
            scalellm_ggml_unpack_row(Int32(row.type), $0.baseAddress!, k, &q, &scale, &min, 1, 0)
        }
        let magnitudes = (0..<k).map { (i: Int) -> Double in
            let s = abs(Double(scale[i / 16])), m = abs(Double(min[i / 16]))
            return s * (abs(Double(q[i])) + 32) + m
        }
        return (values, magnitudes)
    }

    /// Activations quantised as ggml's Q8_0 (per 32: d = max|x| / 127, q = round(x / d)) and decoded again.
    private func quantizedActivations(_ x: [Float], k: Int) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        for start in stride(from: 0, to: x.count, by: 32) {
            let block = x[start..<(start + 32)]
            let d = block.map(abs).max()! / 127, id: Float = d == 0 ? 0 : 1 / d
            for i in start..<(start + 32) { out[i] = Double(d) * Double((x[i] * id).rounded(.toNearestOrAwayFromZero)) }
        }
        return out
    }

    private func check(types: [String], n: Int, k: Int, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) throws {
        var random = TestRandom(seed: seed)
        let encoded = try rows(types: types, count: n, k: k, random: &random)
        let weights = encoded.map { decoded($0, k: k) }
        // Keep the row bytes alive in one buffer for the matrix's lifetime.
        let storage = encoded.flatMap(\.bytes)
        storage.withUnsafeBytes { raw in
            var offset = 0
            let matrixRows = encoded.map { row -> QuantizedMatrix.Row in
                defer { offset += row.bytes.count }
                return QuantizedMatrix.Row(pointer: raw.baseAddress! + offset, ggmlType: row.type)
            }
            let matrix = QuantizedMatrix(rows: matrixRows, columns: k, owners: [])
            // Up to 4 rows take the AVX2 row dots where a tile's types all have one, more the tile.
            for m in [1, 2, 3, 4, 5, 7, 9] {
                let x = random.floats(m * k, -2, 2)
                let a = quantizedActivations(x, k: k)
                for level in InstructionSet.available {
                    for accumulate in [false, true] {
                        let y0 = random.floats(m * n)
                        var y = accumulate ? y0 : [Float](repeating: .nan, count: m * n)
                        matrix.multiplyTransposed(x, rows: m, into: &y, accumulate: accumulate, level: level)
                        for r in 0..<m {
                            for j in 0..<n {
                                var reference = accumulate ? Double(y0[r * n + j]) : 0, magnitude = 0.0
                                for i in 0..<k {
                                    reference += Double(weights[j].values[i]) * a[r * k + i]
                                    magnitude += weights[j].magnitudes[i] * abs(a[r * k + i])
                                }
                                let bound = Double(k / 16 + 6) * 0x1p-24 * magnitude + (accumulate ? 0x1p-24 * abs(reference) : 0)
                                let error = abs(Double(y[r * n + j]) - reference)
                                XCTAssertLessThanOrEqual(error, bound, "\(types) n=\(n) k=\(k) m=\(m) row \(r) output \(j), \(level), accumulate \(accumulate)",
                                                         file: file, line: line)
                            }
                        }
                    }
                }
            }
        }
    }

    func testEveryTypeMatchesTheFloatReference() throws {
        for (i, type) in Self.quantizedTypes.enumerated() {
            try check(types: [type], n: 13, k: 512, seed: UInt64(100 + i))
        }
    }

    /// Rows of different types in one matrix (Q, K and V of a Q4_K_M file), over enough tiles for both threads.
    func testMixedTypesInOneMatrix() throws {
        try check(types: Self.quantizedTypes, n: 70, k: 256, seed: 7)
    }

    /// The row-dot types of a Q4_K_M file in one matrix, so that tiles of several types skip the tile at a few
    /// activation rows (the matrix above always holds a type without a row dot in every tile).
    func testMixedRowDotTypesInOneMatrix() throws {
        try check(types: ["Q5_0", "Q8_0", "Q4_K", "Q6_K", "Q5_K", "Q4_0"], n: 70, k: 512, seed: 8)
    }

    /// Unpacking reproduces the exact decoding: `scale · q + min` is, in float32, ggml's value for every weight.
    func testUnpackedFormIsTheDecodedValue() throws {
        let hasMin: Set<String> = ["Q4_1", "Q5_1", "Q2_K", "Q4_K", "Q5_K"]
        var random = TestRandom(seed: 3)
        for type in Self.quantizedTypes {
            let row = try rows(types: [type], count: 1, k: 1024, random: &random)[0]
            var values = [Float](repeating: 0, count: 1024), q = [Int8](repeating: 0, count: 1024)
            var scale = [Float](repeating: 0, count: 64), min = [Float](repeating: 0, count: 64)
            row.bytes.withUnsafeBytes {
                scalellm_ggml_decode(Int32(row.type), $0.baseAddress!, 1024, &values)
                scalellm_ggml_unpack_row(Int32(row.type), $0.baseAddress!, 1024, &q, &scale, &min, 1, 0)
            }
            for i in 0..<1024 {
                let product = scale[i / 16] * Float(q[i])
                let value = hasMin.contains(type) ? product + min[i / 16] : product
                XCTAssertEqual(value.bitPattern, values[i].bitPattern, "\(type) weight \(i)")
                if !hasMin.contains(type) { XCTAssertEqual(min[i / 16], 0, type) }
            }
        }
    }

    /// Activation bytes are what ggml's Q8_0 quantiser stores for the same values.
    func testActivationBytesMatchQ8_0() {
        var random = TestRandom(seed: 11)
        let k = 256, x = random.floats(3 * k, -5, 5)
        var q = [Int8](repeating: 0, count: 3 * k), scales = [Float](repeating: 0, count: 3 * k / 16)
        var sums = [Float](repeating: 0, count: 3 * k / 16)
        scalellm_q8_quantize_rows(x, 3, k, &q, &scales, &sums)
        var blocks = [UInt8](repeating: 0, count: 3 * k / 32 * 34)
        scalellm_ggml_quantize_q8_0(x, 3 * k, &blocks)
        for b in 0..<(3 * k / 32) {
            XCTAssertEqual(q[(b * 32)..<(b * 32 + 32)].map { UInt8(bitPattern: $0) }, Array(blocks[(b * 34 + 2)..<(b * 34 + 34)]), "block \(b)")
            XCTAssertEqual(sums[2 * b] + sums[2 * b + 1], scales[2 * b] * Float(q[(b * 32)..<(b * 32 + 32)].reduce(0) { $0 + Int($1) }),
                           accuracy: 1e-3 * scales[2 * b] * 32 * 127)
        }
    }

    /// Q4_0 and Q8_0 quantisation at load round-trips: Q8_0 within half a step plus the fp16 rounding of the
    /// scale (at most 127 · 2⁻¹¹ steps); Q4_0 within one step, since its range −8…7 clips values on the side
    /// opposite to the largest magnitude at 7 steps.
    func testQuantizingFloatsAtLoad() {
        var random = TestRandom(seed: 5)
        let rows = 9, k = 64, w = random.floats(rows * k, -3, 3)
        for type: UInt32 in [8, 2] {
            let matrix = w.withUnsafeBufferPointer { QuantizedMatrix(quantizing: $0.baseAddress!, rows: rows, columns: k, ggmlType: type) }
            XCTAssertEqual(matrix.bytes, rows * k / 32 * (type == 8 ? 34 : 18))
            var decoded = [Float](repeating: 0, count: k)
            for r in 0..<rows {
                matrix.copyRow(r, into: &decoded)
                for b in 0..<(k / 32) {
                    let block = w[(r * k + b * 32)..<(r * k + b * 32 + 32)]
                    let step = block.map(abs).max()! / (type == 8 ? 127 : 8)
                    for i in 0..<32 {
                        XCTAssertEqual(decoded[b * 32 + i], w[r * k + b * 32 + i], accuracy: step * (type == 8 ? 0.5 + 127 * 0x1p-11 : 1.01),
                                       "type \(type) row \(r) value \(b * 32 + i)")
                    }
                }
            }
        }
    }
}
