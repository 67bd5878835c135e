import Foundation
import WireProtocol

/// What connection threads ask of the engine thread. The engine is single-threaded, so every change to it
/// arrives here and is applied between steps.
enum WorkerCommand: Sendable {
    case add(WireProtocol.GenerateRequest, from: BlockingFrameSocket)
    case cancel(UInt64, from: BlockingFrameSocket)
    case connectionClosed(BlockingFrameSocket)
}

/// The engine thread's mailbox: connection threads post commands; the engine thread takes them all at once
/// between steps, and sleeps here only when it has nothing to run.
final class WorkerInbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var commands: [WorkerCommand] = []
    private var closed = false

    func post(_ command: WorkerCommand) {
        condition.withLock {
            commands.append(command)
            condition.signal()
        }
    }

    /// Every pending command; waits for one first when `wait` is true. Nil once closed.
    func take(wait: Bool) -> [WorkerCommand]? {
        condition.withLock {
            while wait && commands.isEmpty && !closed { condition.wait() }
            if closed { return nil }
            defer { commands = [] }
            return commands
        }
    }

    func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }
}
