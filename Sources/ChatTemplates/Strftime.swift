import Foundation

/// Python's `datetime.strftime` in the C locale, for transformers' `strftime_now(format)` global
/// (Llama 3.2 renders "Today Date: " + `strftime_now("%d %b %Y")`). Supports `%a %A %b %B %c %d %D
/// %e %F %H %I %j %m %M %p %S %T %u %w %x %X %y %Y %z %Z %%`, glibc's `%-d`-style unpadded forms;
/// anything else is copied through.
enum Strftime {
    private static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let months = ["January", "February", "March", "April", "May", "June", "July", "August",
                                 "September", "October", "November", "December"]

    static func format(_ format: String, date: Date, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let year = c.year ?? 1970, month = c.month ?? 1, day = c.day ?? 1
        let hour = c.hour ?? 0, minute = c.minute ?? 0, second = c.second ?? 0
        let weekday = (c.weekday ?? 1) - 1
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        let offset = timeZone.secondsFromGMT(for: date)

        func pad(_ v: Int, _ width: Int, _ unpadded: Bool, _ fill: Character = "0") -> String {
            let s = String(v)
            if unpadded { return s }
            return String(repeating: fill, count: max(0, width - s.count)) + s
        }
        func expand(_ d: Character, _ unpadded: Bool) -> String? {
            let hour12 = hour % 12 == 0 ? 12 : hour % 12
            switch d {
            case "a": return String(weekdays[weekday].prefix(3))
            case "A": return weekdays[weekday]
            case "b", "h": return String(months[month - 1].prefix(3))
            case "B": return months[month - 1]
            case "c": return "\(expand("a", false)!) \(expand("b", false)!) \(pad(day, 2, false, " ")) "
                + "\(pad(hour, 2, false)):\(pad(minute, 2, false)):\(pad(second, 2, false)) \(year)"
            case "d": return pad(day, 2, unpadded)
            case "D", "x": return "\(pad(month, 2, false))/\(pad(day, 2, false))/\(pad(year % 100, 2, false))"
            case "e": return pad(day, 2, unpadded, " ")
            case "F": return "\(year)-\(pad(month, 2, false))-\(pad(day, 2, false))"
            case "H": return pad(hour, 2, unpadded)
            case "I": return pad(hour12, 2, unpadded)
            case "j": return pad(dayOfYear, 3, unpadded)
            case "m": return pad(month, 2, unpadded)
            case "M": return pad(minute, 2, unpadded)
            case "n": return "\n"
            case "p": return hour < 12 ? "AM" : "PM"
            case "S": return pad(second, 2, unpadded)
            case "t": return "\t"
            case "T", "X": return "\(pad(hour, 2, false)):\(pad(minute, 2, false)):\(pad(second, 2, false))"
            case "u": return String(weekday == 0 ? 7 : weekday)
            case "w": return String(weekday)
            case "y": return pad(year % 100, 2, unpadded)
            case "Y": return String(year)
            case "z":
                let m = abs(offset) / 60
                return (offset < 0 ? "-" : "+") + pad(m / 60, 2, false) + pad(m % 60, 2, false)
            case "Z": return timeZone.abbreviation(for: date) ?? ""
            case "%": return "%"
            default: return nil
            }
        }

        var out = ""
        var chars = Array(format)
        var i = 0
        while i < chars.count {
            guard chars[i] == "%", i + 1 < chars.count else {
                out.append(chars[i])
                i += 1
                continue
            }
            var j = i + 1
            let unpadded = chars[j] == "-"
            if unpadded { j += 1 }
            if j < chars.count, let text = expand(chars[j], unpadded) {
                out += text
                i = j + 1
            } else {
                out.append(chars[i])
                i += 1
            }
        }
        chars.removeAll()
        return out
    }
}
