/// The one place a worker keeps a request's identity: which gateway connection sent it, the id that connection
/// chose (unique per connection only), and the engine's id for it (unique in the worker). Engine thread only.
struct RequestTable {
    /// A request as its gateway knows it.
    struct Owner: Hashable {
        let connection: ConnectionID
        let wireID: UInt64
    }

    private var owners: [UInt64: Owner] = [:]
    private var engineIDs: [Owner: UInt64] = [:]
    private var lastEngineID: UInt64 = 0

    var count: Int { owners.count }

    /// Whether `owner` is already being served (a gateway reusing a live request id).
    func contains(_ owner: Owner) -> Bool { engineIDs[owner] != nil }

    /// A fresh engine id for a request about to be added; `insert` it once the engine accepted the request.
    mutating func nextEngineID() -> UInt64 {
        lastEngineID += 1
        return lastEngineID
    }

    mutating func insert(_ owner: Owner, engineID: UInt64) {
        owners[engineID] = owner
        engineIDs[owner] = engineID
    }

    func owner(of engineID: UInt64) -> Owner? { owners[engineID] }

    /// Forgets a request the engine finished; returns who owned it.
    @discardableResult
    mutating func remove(engineID: UInt64) -> Owner? {
        guard let owner = owners.removeValue(forKey: engineID) else { return nil }
        engineIDs[owner] = nil
        return owner
    }

    /// Forgets a request its gateway cancelled; returns its engine id.
    mutating func remove(_ owner: Owner) -> UInt64? {
        guard let engineID = engineIDs.removeValue(forKey: owner) else { return nil }
        owners[engineID] = nil
        return engineID
    }

    /// Forgets every request of a connection that closed; returns their engine ids.
    mutating func removeAll(of connection: ConnectionID) -> [UInt64] {
        let ids = owners.filter { $0.value.connection == connection }.map(\.key)
        for id in ids { remove(engineID: id) }
        return ids
    }

    /// Forgets everything (the engine failed); returns who owned what.
    mutating func removeAll() -> [Owner] {
        defer {
            owners = [:]
            engineIDs = [:]
        }
        return Array(owners.values)
    }
}
