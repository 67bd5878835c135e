import Foundation

/// The engine thread's mailbox: the loop thread posts commands; the engine thread takes them all at once between
/// steps, and sleeps here only when it has nothing to run.
final class EngineInbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var commands: [EngineCommand] = []
    private var closed = false

    /// Queues `command` for the engine thread; false once the inbox is closed (the engine has stopped).
    func post(_ command: EngineCommand) -> Bool {
        condition.withLock {
            guard !closed else { return false }
            commands.append(command)
            condition.signal()
            return true
        }
    }

    /// Every pending command; waits for one first when `wait` is true. Nil once closed.
    func take(wait: Bool) -> [EngineCommand]? {
        condition.withLock {
            while wait && commands.isEmpty && !closed { condition.wait() }
            if closed { return nil }
            defer { commands = [] }
            return commands
        }
    }

    /// Ends the engine thread's loop (`take` returns nil), returning the commands it will never see.
    func close() -> [EngineCommand] {
        condition.withLock {
            closed = true
            condition.broadcast()
            defer { commands = [] }
            return commands
        }
    }
}
