import Foundation

/// What the executor tells the outside world while a graph runs. Calls may come from a node's
/// worker threads (progress, log), so implementations lock.
public protocol RunObserver: AnyObject {
    func nodeStarted(_ node: String, type: String, step: Int, of steps: Int)
    func nodeProgress(_ node: String, done: Int, total: Int, message: String)
    func nodeLog(_ node: String, level: Int32, message: String)
    func nodeFinished(_ node: String, seconds: Double, cached: Bool)
}

/// Progress on stderr: a redrawn bar with ETA on a terminal; on anything else plain lines a
/// render-farm log scraper can parse:
///
///     tcgraph: node=lat type=Denoise step=2/5 started
///     tcgraph: node=lat progress=12/50 pct=24 eta=34s msg="denoising"
///     tcgraph: node=lat finished seconds=41.20
///     tcgraph: node=a cached
public final class ConsoleReporter: RunObserver {
    public enum Mode: Sendable { case terminal, lines, quiet }

    public let mode: Mode
    private let lock = NSLock()
    private var started: [String: Date] = [:]
    private var lastDraw = Date.distantPast
    private var lastLinePct: [String: Int] = [:]
    private var lastLineTime: [String: Date] = [:]
    private var label = ""
    private var barShown = false

    public init(mode: Mode) { self.mode = mode }

    /// Terminal mode when stderr is a TTY, lines otherwise; quiet prints only warnings and errors.
    public static func automatic(quiet: Bool) -> ConsoleReporter {
        ConsoleReporter(mode: quiet ? .quiet : (isatty(2) != 0 ? .terminal : .lines))
    }

    private func write(_ s: String) {
        FileHandle.standardError.write(s.data(using: .utf8)!)
    }

    private func clearBar() {
        if barShown { write("\r\u{1B}[2K"); barShown = false }
    }

    public func nodeStarted(_ node: String, type: String, step: Int, of steps: Int) {
        lock.lock(); defer { lock.unlock() }
        started[node] = Date()
        label = "[\(step)/\(steps)] \(node) (\(type))"
        switch mode {
        case .terminal: clearBar(); write("\(label)\n")
        case .lines: write("tcgraph: node=\(node) type=\(type) step=\(step)/\(steps) started\n")
        case .quiet: break
        }
    }

    public func nodeProgress(_ node: String, done: Int, total: Int, message: String) {
        guard total > 0, mode != .quiet else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let frac = min(1, max(0, Double(done) / Double(total)))
        let elapsed = now.timeIntervalSince(started[node] ?? now)
        let eta = frac > 0 ? elapsed * (1 - frac) / frac : nil
        switch mode {
        case .terminal:
            guard now.timeIntervalSince(lastDraw) > 0.1 || done >= total else { return }
            lastDraw = now
            let width = 30, filled = Int(frac * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let etaText = eta.map { " ETA \(ConsoleReporter.clock($0))" } ?? ""
            write("\r\u{1B}[2K  \(bar) \(done)/\(total) \(Int(frac * 100))%\(etaText) \(message)")
            barShown = true
        case .lines:
            let pct = Int(frac * 100)
            let last = lastLinePct[node] ?? -100
            let since = now.timeIntervalSince(lastLineTime[node] ?? .distantPast)
            guard pct / 10 != last / 10 || since >= 5 || done >= total else { return }
            lastLinePct[node] = pct
            lastLineTime[node] = now
            let etaText = eta.map { String(format: " eta=%.0fs", $0) } ?? ""
            let msg = message.isEmpty ? "" : " msg=\"\(message.replacingOccurrences(of: "\"", with: "'"))\""
            write("tcgraph: node=\(node) progress=\(done)/\(total) pct=\(pct)\(etaText)\(msg)\n")
        case .quiet: break
        }
    }

    public func nodeLog(_ node: String, level: Int32, message: String) {
        lock.lock(); defer { lock.unlock() }
        let names = ["debug", "info", "warning", "error"]
        let name = names[Int(max(0, min(3, level)))]
        if level < 1 || (mode == .quiet && level < 2) { return }
        clearBar()
        write("tcgraph: \(node): \(name): \(message)\n")
    }

    public func nodeFinished(_ node: String, seconds: Double, cached: Bool) {
        lock.lock(); defer { lock.unlock() }
        switch mode {
        case .terminal:
            clearBar()
            write(cached ? "  cached\n" : String(format: "  done in %.2fs\n", seconds))
        case .lines:
            write(cached ? "tcgraph: node=\(node) cached\n" : String(format: "tcgraph: node=\(node) finished seconds=%.2f\n", seconds))
        case .quiet: break
        }
    }

    static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
