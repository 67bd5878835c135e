/// A fixed-size, heap-allocated float array with a stable address. Weights, the KV pool and scratch activations
/// live in these so that kernels can take raw pointers without copy-on-write or exclusivity checks in hot loops.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int, zeroed: Bool = true) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: count) }
    }

    deinit { pointer.deallocate() }

    public var bytes: Int { count * MemoryLayout<Float>.stride }
}
