import Foundation

/// Thread-safe memo of word → ids for the BPE model.
///
/// Natural text repeats a small set of words, and the tokenizer is shared by every request, so a
/// locked dictionary bounded like HF's (it stops inserting once full) saves most merge work.
final class WordCache: @unchecked Sendable {
    struct Key: Hashable {
        var bytes: [UInt8]
        var byteLevel: Bool

        init(bytes: ArraySlice<UInt8>, byteLevel: Bool) {
            self.bytes = Array(bytes)
            self.byteLevel = byteLevel
        }
    }

    private let lock = NSLock()
    private var storage: [Key: [Int32]] = [:]
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func get(_ key: Key) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return storage[key]
    }

    func put(_ key: Key, _ ids: [Int32]) {
        lock.lock()
        defer { lock.unlock() }
        if storage.count < capacity { storage[key] = ids }
    }
}
