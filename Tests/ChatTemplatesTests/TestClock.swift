import Foundation

/// The fixed clock the generated expectations were rendered with (`strftime_now` sees 2025-03-09 08:07:06 UTC).
enum TestClock {
    static let utc = TimeZone(identifier: "UTC")!
    static let now: Date = {
        var c = DateComponents()
        c.year = 2025; c.month = 3; c.day = 9; c.hour = 8; c.minute = 7; c.second = 6
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = utc
        return calendar.date(from: c)!
    }()
}
