/// Small vector primitives shared by the kernels. Unsafe pointers and explicit SIMD accumulators are used because
/// these sit in the innermost loops (attention scores, norms) and float reductions do not auto-vectorise.
public enum VectorMath {
    /// Σ a[i]·b[i], accumulated in 16 lanes. (`acc += a * b`, not `addProduct`: without an FMA target feature
    /// `addProduct` becomes a per-lane library call, measured 13× slower.)
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= count {
            let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
            let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            acc += va * vb
            i += 16
        }
        var sum = acc.sum()
        while i < count { sum += a[i] * b[i]; i += 1 }
        return sum
    }

    /// x[i] += y[i]
    @inline(__always)
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// Index of the largest value (the first one on ties, as torch.argmax).
    public static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        guard count > 1 else { return 0 }
        var best = 0
        for i in 1..<count where x[i] > x[best] { best = i }
        return best
    }
}
