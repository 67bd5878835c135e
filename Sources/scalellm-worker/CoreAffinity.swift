import CProcessGroupShim

/// The cores a tensor-parallel rank runs on: the process's allowed CPUs split into `size` equal groups, rank r
/// taking group r. When there are fewer allowed CPUs than ranks nothing is pinned and each rank gets one BLAS
/// thread.
enum CoreAffinity {
    /// The CPUs this process may run on (sched_getaffinity), ascending; empty if unknown.
    static func allowedCPUs() -> [Int] {
        var cpus = [Int32](repeating: 0, count: 1024)
        let count = scalellm_allowed_cpus(&cpus, Int32(cpus.count))
        return count > 0 ? cpus.prefix(Int(count)).map(Int.init) : []
    }

    /// The CPUs `rank` of `size` owns among `allowed`, or nil when there are fewer CPUs than ranks.
    static func cpus(rank: Int, size: Int, allowed: [Int]) -> [Int]? {
        let per = allowed.count / size
        guard per >= 1 else { return nil }
        return Array(allowed[(rank * per)..<((rank + 1) * per)])
    }

    /// Pins the calling process (threads created afterwards inherit it) to `cpus`. False on failure.
    @discardableResult
    static func pin(to cpus: [Int]) -> Bool {
        let list = cpus.map(Int32.init)
        return scalellm_pin_cpus(list, Int32(list.count)) == 0
    }
}
