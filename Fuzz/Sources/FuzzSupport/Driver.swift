import CFuzzSupport

/// The callback type of `LLVMFuzzerRunDriver`: one input, `0` to keep going.
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

/// Runs libFuzzer's command-line driver (the `main` libFuzzer would otherwise supply) over `callback`.
///
/// Why each target has its own `<Target>_main` calling this: on Linux SwiftPM links every executable with
/// `--defsym main=<Target>_main` (so that executables can be tested), and `-parse-as-library`, which libFuzzer needs,
/// means the compiler emits no such function. Defining it ourselves satisfies the linker; it then runs the same
/// driver libFuzzer's own `main` would. Where SwiftPM does not rename `main`, libFuzzer's `main` is linked and calls
/// the exported `LLVMFuzzerTestOneInput` directly, and `<Target>_main` is simply unused.
public func runFuzzer(
    _ argc: Int32,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: FuzzCallback
) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}

/// Copies libFuzzer's input into an array (`data` may be `nil` for an empty input).
public func inputBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// Stops the process, which libFuzzer reports as a crash and saves the input: a broken invariant is a finding.
public func require(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition() { fatalError("fuzz invariant violated: \(message())", file: file, line: line) }
}
