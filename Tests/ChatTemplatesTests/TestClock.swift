import Foundation

/// The fixed clock the generated expectations were rendered with (`strftime_now` → 2024-07-26 14:05:09).
enum TestClock {
    static let utc = TimeZone(identifier: "UTC")!
    static let now: Date = {
        var c = DateComponents()
        c.year = 2024; c.month = 7; c.day = 26; c.hour = 14; c.minute = 5; c.second = 9
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = utc
        return calendar.date(from: c)!
    }()
}
