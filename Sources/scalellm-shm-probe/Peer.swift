#if canImport(Glibc)
import Glibc
#endif
import ProcessGroup

/// The `peer` mode: a rank that checks plans and all-reduce sums computed from `ProbeData`.
func runPeer(group: String, rank: Int, size: Int, capacity: Int, count: Int, iterations: Int, plans: Int) -> Never {
    do {
        let processGroup = try ProcessGroup(.init(group: group, rank: rank, size: size, allReduceCapacity: capacity,
                                                  planCapacity: 4096, connectTimeout: .seconds(30),
                                                  operationTimeout: .seconds(30)))
        for number in 0..<plans {
            let plan = try processGroup.receivePlan()
            if plan != ProbeData.plan(number) { fail("plan \(number) differs", status: 3) }
        }
        var buffer = [Float](repeating: 0, count: count)
        var iteration = 0
        while iterations == 0 || iteration < iterations {
            for i in 0..<count { buffer[i] = ProbeData.value(rank: rank, iteration: iteration, index: i) }
            try processGroup.allReduceSum(&buffer)
            for i in 0..<count {
                var expected: Float = 0
                for r in 0..<size { expected += ProbeData.value(rank: r, iteration: iteration, index: i) }
                if buffer[i] != expected { fail("iteration \(iteration) element \(i): \(buffer[i]) != \(expected)", status: 4) }
            }
            iteration += 1
        }
        processGroup.close()
        exit(0)
    } catch {
        fail("\(error)", status: 2)
    }
}
