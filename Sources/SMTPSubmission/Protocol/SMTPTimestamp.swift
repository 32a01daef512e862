/// A point in time with the UTC offset to show it in, formatted as RFC 5322 `date-time` for `Received:` headers.
///
/// The session never reads the clock itself: the driver supplies timestamps through
/// ``SMTPSessionConfiguration/clock``, which keeps the session deterministic in tests.
public struct SMTPTimestamp: Sendable, Equatable {
    /// Seconds since 1970-01-01 00:00:00 UTC.
    public var secondsSince1970: Int64
    /// The offset of the local time shown, in seconds east of UTC (for example `-14400` for EDT).
    public var utcOffsetSeconds: Int

    /// Creates a timestamp.
    public init(secondsSince1970: Int64, utcOffsetSeconds: Int = 0) {
        self.secondsSince1970 = secondsSince1970
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Fri, 24 May 2002 11:44:42 -0400`.
    public var rfc5322: String {
        let local = secondsSince1970 + Int64(utcOffsetSeconds)
        let days = Self.floorDivide(local, 86_400)
        let secondOfDay = Int(local - days * 86_400)
        let (year, month, day) = Self.civilDate(daysSince1970: days)
        // 1970-01-01 was a Thursday.
        let weekday = Int(((days % 7) + 11) % 7)
        let offsetMinutes = abs(utcOffsetSeconds) / 60
        let sign = utcOffsetSeconds < 0 ? "-" : "+"
        return "\(Self.weekdays[weekday]), \(day) \(Self.months[month - 1]) \(year) "
            + "\(Self.twoDigits(secondOfDay / 3600)):\(Self.twoDigits(secondOfDay / 60 % 60)):"
            + "\(Self.twoDigits(secondOfDay % 60)) \(sign)\(Self.twoDigits(offsetMinutes / 60))"
            + Self.twoDigits(offsetMinutes % 60)
    }

    private static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }

    /// The proleptic Gregorian date of a day count, by Howard Hinnant's `civil_from_days`.
    private static func civilDate(daysSince1970: Int64) -> (year: Int64, month: Int, day: Int) {
        let shifted = daysSince1970 + 719_468
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
        let month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
