#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A named POSIX shared-memory segment (`shm_open` + `ftruncate` + `mmap(MAP_SHARED)`) with a one-page header that
/// records a magic number, the payload's layout version, the creator's pid and a ready flag.
///
/// One process creates the segment (`create`, with `O_EXCL`): an existing segment of the same name whose creator
/// is no longer running is left over from a crashed run and is removed first; one whose creator runs is an error.
/// The others `open` it, waiting until the creator has initialised the payload and set the ready flag. The creator
/// unlinks the name when it closes, and so does any process that closes it after the creator died;
/// `removeStale(prefix:)` removes segments whose creators died without closing.
/// The payload starts on a page boundary after the header.
public final class SharedMemorySegment {
    /// Bytes of the header before the payload.
    public static let headerSize = 4096
    /// The prefix of every segment name ScaleLLM creates.
    public static let namePrefix = "/scalellm-"

    /// The segment's name, e.g. `/scalellm-tp0-shm`.
    public let name: String
    /// Whether this process created the segment (and so unlinks it on `close`, as others do only once it died).
    public let isCreator: Bool
    /// The first payload byte (page-aligned).
    public let payload: UnsafeMutableRawPointer
    /// Bytes of payload.
    public let payloadSize: Int
    /// The pid recorded by the creator.
    public let creatorPID: Int32

    private var base: UnsafeMutableRawPointer?
    private let mappedSize: Int
    private var descriptor: Int32

    // Header fields (byte offsets). The magic and pid stay at these offsets in every layout version so that
    // `removeStale` can judge segments written by other versions.
    private static let magic: UInt64 = 0x5348_5F4D_4C4C_4353  // "SCLLM_SH" little-endian
    private static let magicOffset = 0, versionOffset = 8, pidOffset = 12, payloadSizeOffset = 16, readyOffset = 24

    private init(name: String, isCreator: Bool, base: UnsafeMutableRawPointer, mappedSize: Int, descriptor: Int32) {
        self.name = name
        self.isCreator = isCreator
        self.base = base
        self.mappedSize = mappedSize
        self.descriptor = descriptor
        self.payload = base + Self.headerSize
        self.payloadSize = mappedSize - Self.headerSize
        self.creatorPID = base.load(fromByteOffset: Self.pidOffset, as: Int32.self)
    }

    deinit { close() }

    /// The segment name for a worker group: `/scalellm-<group>-shm`. `group` may use letters, digits, `.`, `_`
    /// and `-` (at most 200 characters).
    public static func name(group: String) throws(ProcessGroupError) -> String {
        let allowed = group.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
        }
        guard !group.isEmpty, group.utf8.count <= 200, allowed else {
            throw .invalidArgument("group name \"\(group)\" must be 1–200 characters of [A-Za-z0-9._-]")
        }
        return "\(namePrefix)\(group)-shm"
    }

    /// Creates and maps a segment with `payloadSize` bytes of zero-filled payload, lets `initialise` fill it, then
    /// marks it ready for `open`. A leftover segment of the same name whose creator died is replaced.
    public static func create(name: String, payloadSize: Int, layoutVersion: UInt32,
                              initialise: (UnsafeMutableRawPointer) -> Void) throws(ProcessGroupError) -> SharedMemorySegment {
        try validate(name)
        guard payloadSize >= 0, payloadSize <= Int.max - headerSize else {
            throw .invalidArgument("segment payload size \(payloadSize)")
        }
        let total = headerSize + payloadSize
        var fd: Int32 = -1
        for _ in 0..<8 {
            fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600)
            if fd >= 0 { break }
            guard errno == EEXIST else { throw .system("shm_open(\(name))") }
            switch inspect(name) {
            case .missing: continue
            case .stale: _ = shm_unlink(name)
            case .live(let pid): throw .segmentInUse(name: name, ownerPID: pid)
            case .foreign(let reason):
                throw .incompatibleSegment(name: name, reason: "\(reason); remove /dev/shm\(name) if no process uses it")
            }
        }
        guard fd >= 0 else { throw .system("shm_open(\(name))") }
        guard ftruncate(fd, off_t(total)) == 0 else {
            let error = ProcessGroupError.system("ftruncate(\(name), \(total))")
            _ = shm_unlink(name)
            closeDescriptor(fd)
            throw error
        }
        guard let base = map(fd, size: total, writable: true) else {
            let error = ProcessGroupError.system("mmap(\(name), \(total))")
            _ = shm_unlink(name)
            closeDescriptor(fd)
            throw error
        }
        base.storeBytes(of: getpid(), toByteOffset: pidOffset, as: Int32.self)
        base.storeBytes(of: layoutVersion, toByteOffset: versionOffset, as: UInt32.self)
        base.storeBytes(of: UInt64(payloadSize), toByteOffset: payloadSizeOffset, as: UInt64.self)
        base.storeBytes(of: magic, toByteOffset: magicOffset, as: UInt64.self)
        initialise(base + headerSize)
        readyFlag(base).pointee.store(1, ordering: .releasing)
        return SharedMemorySegment(name: name, isCreator: true, base: base, mappedSize: total, descriptor: fd)
    }

    /// Opens a segment created by another process (or thread), waiting until it exists, is initialised and its
    /// creator runs. A segment whose creator has died is a leftover that the new creator will replace: keep waiting.
    /// Throws `.segmentNotFound` at the deadline, `.incompatibleSegment` for another layout version.
    public static func open(name: String, layoutVersion: UInt32,
                            deadline: ContinuousClock.Instant) throws(ProcessGroupError) -> SharedMemorySegment {
        try validate(name)
        var pause = 20_000  // ns, doubling to 2 ms: polling for a file to appear, bounded by the deadline
        while true {
            let fd = shm_open(name, O_RDWR, 0)
            if fd >= 0 {
                if let segment = try attach(fd, name: name, layoutVersion: layoutVersion) { return segment }
                closeDescriptor(fd)
            } else if errno != ENOENT {
                throw .system("shm_open(\(name))")
            }
            guard ContinuousClock.now < deadline else { throw .segmentNotFound(name: name) }
            var request = timespec(tv_sec: 0, tv_nsec: pause)
            nanosleep(&request, nil)
            pause = min(pause * 2, 2_000_000)
        }
    }

    /// Maps an opened segment if it is ready and its creator alive; nil to keep waiting.
    private static func attach(_ fd: Int32, name: String, layoutVersion: UInt32) throws(ProcessGroupError) -> SharedMemorySegment? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system("fstat(\(name))") }
        let size = Int(info.st_size)
        guard size >= headerSize, let base = map(fd, size: size, writable: true) else { return nil }
        let ready = readyFlag(base).pointee.load(ordering: .acquiring) == 1
        let pid = base.load(fromByteOffset: pidOffset, as: Int32.self)
        let foundMagic = base.load(fromByteOffset: magicOffset, as: UInt64.self)
        let version = base.load(fromByteOffset: versionOffset, as: UInt32.self)
        let payloadSize = base.load(fromByteOffset: payloadSizeOffset, as: UInt64.self)
        guard ready, ProcessLiveness.isAlive(pid) else {
            munmap(base, size)
            return nil
        }
        guard foundMagic == magic else {
            munmap(base, size)
            throw .incompatibleSegment(name: name, reason: "not a ScaleLLM segment (bad magic)")
        }
        guard version == layoutVersion, payloadSize == UInt64(size - headerSize) else {
            munmap(base, size)
            throw .incompatibleSegment(name: name, reason: "layout version \(version) with \(payloadSize) payload bytes, "
                                       + "expected version \(layoutVersion) and \(size - headerSize)")
        }
        return SharedMemorySegment(name: name, isCreator: false, base: base, mappedSize: size, descriptor: fd)
    }

    /// Unmaps the segment; the creator — or anyone, once the creator is dead and cannot — also unlinks the name
    /// (if it still refers to this segment, not to a new run's). Idempotent.
    public func close() {
        guard let base else { return }
        munmap(base, mappedSize)
        self.base = nil
        let unlinks = isCreator || !ProcessLiveness.isAlive(creatorPID)
        if unlinks && Self.nameRefersTo(descriptor: descriptor, name: name) { _ = shm_unlink(name) }
        closeDescriptor(descriptor)
        descriptor = -1
    }

    /// Whether a segment of this name exists.
    public static func exists(name: String) -> Bool {
        let fd = shm_open(name, O_RDONLY, 0)
        guard fd >= 0 else { return false }
        closeDescriptor(fd)
        return true
    }

    /// Removes every segment under `/dev/shm` whose name starts with `prefix` (with or without the leading `/`)
    /// and whose header names a creator that no longer runs: leftovers of crashed runs. Segments without our
    /// header are left alone. Returns the removed names.
    @discardableResult
    public static func removeStale(prefix: String = namePrefix) -> [String] {
        let bare = prefix.hasPrefix("/") ? String(prefix.dropFirst()) : prefix
        guard let directory = opendir("/dev/shm") else { return [] }
        var candidates: [String] = []
        while let entry = readdir(directory) {
            let file = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) {
                    String(cString: $0)
                }
            }
            if file.hasPrefix(bare) && file != "." && file != ".." { candidates.append("/" + file) }
        }
        closedir(directory)
        var removed: [String] = []
        for name in candidates {
            if case .stale = inspect(name), shm_unlink(name) == 0 { removed.append(name) }
        }
        return removed
    }

    // MARK: Helpers

    private enum Inspection { case missing, stale(Int32), live(Int32), foreign(String) }

    /// Reads the header of an existing segment without joining it.
    private static func inspect(_ name: String) -> Inspection {
        let fd = shm_open(name, O_RDONLY, 0)
        guard fd >= 0 else { return errno == ENOENT ? .missing : .foreign("cannot open: \(String(cString: strerror(errno)))") }
        defer { closeDescriptor(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, Int(info.st_size) >= headerSize else { return .foreign("smaller than a header") }
        guard let base = map(fd, size: headerSize, writable: false) else { return .foreign("cannot map") }
        defer { munmap(base, headerSize) }
        guard base.load(fromByteOffset: magicOffset, as: UInt64.self) == magic else { return .foreign("not a ScaleLLM segment") }
        let pid = base.load(fromByteOffset: pidOffset, as: Int32.self)
        return ProcessLiveness.isAlive(pid) ? .live(pid) : .stale(pid)
    }

    private static func map(_ fd: Int32, size: Int, writable: Bool) -> UnsafeMutableRawPointer? {
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        let pointer = mmap(nil, size, protection, MAP_SHARED, fd, 0)
        guard let pointer, Int(bitPattern: pointer) != -1 else { return nil }
        return pointer
    }

    private static func readyFlag(_ base: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (base + readyOffset).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// Whether `/dev/shm/<name>` is still the file behind `descriptor` (a new run may have replaced it).
    private static func nameRefersTo(descriptor: Int32, name: String) -> Bool {
        #if os(Linux)
        var open = stat(), named = stat()
        guard fstat(descriptor, &open) == 0, stat("/dev/shm" + name, &named) == 0 else { return false }
        return open.st_ino == named.st_ino && open.st_dev == named.st_dev
        #else
        return true
        #endif
    }

    private static func validate(_ name: String) throws(ProcessGroupError) {
        guard name.hasPrefix("/"), name.utf8.count > 1, name.utf8.count <= 255, !name.dropFirst().contains("/") else {
            throw .invalidArgument("segment name \"\(name)\" must be \"/\" followed by 1–254 characters without \"/\"")
        }
    }
}

/// `close(2)`, reachable from inside the class whose `close()` method hides it.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
