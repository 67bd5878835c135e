import ArgumentParser
import Kernels

extension ParsableCommand {
    /// The entry point of executables that compute with OpenBLAS: makes sure its settings (`OpenBLASEnvironment`) are in the
    /// environment before the library is used (re-executing once if needed), then parses and runs the command.
    public static func mainWithTunedBLAS() {
        OpenBLASEnvironment.ensureSetOrReexec()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
