/// The text dump of Berkeley DB's `db_dump -p` / `db_load`, used by `export` and `import`.
///
/// Choosing this format means an export loads into a Cyrus file with `db5.3_load -t hash`, and a `db5.3_dump -p`
/// of a Debian sasldb imports as it is.
public enum DumpFormat {
    /// The dump of `records`, `print` style (printable bytes as they are, others as `\xx`).
    public static func encode(_ records: [Record]) -> [UInt8] {
        var out = Array("VERSION=3\nformat=print\ntype=hash\nHEADER=END\n".utf8)
        for record in records {
            appendLine(record.key.bytes, to: &out)
            appendLine(record.value, to: &out)
        }
        out += Array("DATA=END\n".utf8)
        return out
    }

    private static func appendLine(_ bytes: [UInt8], to out: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: " "))
        for byte in bytes {
            if byte == UInt8(ascii: "\\") {
                out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            } else if byte >= 0x20 && byte < 0x7f {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "\\"), digits[Int(byte >> 4)], digits[Int(byte & 0xf)]]
            }
        }
        out.append(UInt8(ascii: "\n"))
    }

    /// Whether `text` starts like a dump (rather than `user@realm:password` lines).
    public static func looksLikeDump(_ text: some Collection<UInt8>) -> Bool {
        text.starts(with: Array("VERSION=".utf8))
    }

    /// The records of a dump in `print` or `bytevalue` format.
    ///
    /// - Throws: ``SASLDBError/invalidInput(line:reason:)`` naming the first bad line.
    public static func decode(_ text: [UInt8]) throws -> [Record] {
        var records: [Record] = []
        var inHeader = true
        var printable = true
        var pendingKey: (bytes: [UInt8], line: Int)?
        var ended = false
        for (index, line) in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            if inHeader {
                let text = String(decoding: line, as: UTF8.self)
                if text == "HEADER=END" {
                    inHeader = false
                } else if text == "format=bytevalue" {
                    printable = false
                } else if text.hasPrefix("type="), text != "type=hash" {
                    throw SASLDBError.invalidInput(line: number, reason: "a sasldb dump must be of type hash")
                } else if !text.contains("=") {
                    throw SASLDBError.invalidInput(line: number, reason: "expected a NAME=VALUE header line")
                }
                continue
            }
            if ended {
                guard line.isEmpty else {
                    throw SASLDBError.invalidInput(line: number, reason: "text after DATA=END")
                }
                continue
            }
            if line.elementsEqual("DATA=END".utf8) {
                guard pendingKey == nil else {
                    throw SASLDBError.invalidInput(line: number, reason: "the last key has no value line")
                }
                ended = true
                continue
            }
            guard line.first == UInt8(ascii: " ") else {
                throw SASLDBError.invalidInput(line: number, reason: "a data line must start with a space")
            }
            let bytes = try decodeLine(line.dropFirst(), printable: printable, line: number)
            if let key = pendingKey {
                guard let parsed = RecordKey(bytes: key.bytes) else {
                    throw SASLDBError.invalidInput(
                        line: key.line,
                        reason: "the key is not of the form authid NUL realm NUL property"
                    )
                }
                records.append(Record(key: parsed, value: bytes))
                pendingKey = nil
            } else {
                pendingKey = (bytes, number)
            }
        }
        guard !inHeader else { throw SASLDBError.invalidInput(line: 1, reason: "no HEADER=END line") }
        guard ended else { throw SASLDBError.invalidInput(line: 1, reason: "no DATA=END line: the dump is cut short") }
        return records
    }

    private static func decodeLine(_ line: ArraySlice<UInt8>, printable: Bool, line number: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        var index = line.startIndex
        func hexPair(at position: Int) throws -> UInt8 {
            guard position + 1 < line.endIndex, let high = hexValue(line[position]),
                let low = hexValue(line[position + 1])
            else { throw SASLDBError.invalidInput(line: number, reason: "bad \\xx escape") }
            return high << 4 | low
        }
        while index < line.endIndex {
            if !printable {
                out.append(try hexPair(at: index))
                index += 2
            } else if line[index] == UInt8(ascii: "\\") {
                if index + 1 < line.endIndex, line[index + 1] == UInt8(ascii: "\\") {
                    out.append(UInt8(ascii: "\\"))
                    index += 2
                } else {
                    out.append(try hexPair(at: index + 1))
                    index += 3
                }
            } else {
                out.append(line[index])
                index += 1
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
