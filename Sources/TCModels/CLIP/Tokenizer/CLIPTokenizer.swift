import Foundation
import TCCore

/// Spec §2.7: OpenCLIP's `SimpleTokenizer` and `tokenize`: cleanup, pre-tokenisation, byte-level
/// BPE over the 49,408-id vocabulary, [SOT] ids [EOT] zero-padded to the context length.
public final class CLIPTokenizer: @unchecked Sendable {
    public static let startOfText = 49406
    public static let endOfText = 49407
    /// Merges used from the vocabulary file: 49152 − 256 − 2 (lines 1…48894; line 0 is a header).
    static let mergeCount = 48894

    let encoder: [String: Int]
    let ranks: [Pair: Int]
    let byteSymbols: [Character]
    private var cache: [String: [Int]] = [:]
    private let lock = NSLock()

    struct Pair: Hashable { let a: String, b: String }

    /// The vocabulary shipped with tcgraph (see CLIP/Resources/README.md).
    public static var bundledVocabulary: URL? {
        Bundle.module.url(forResource: "bpe_simple_vocab_16e6.txt", withExtension: "gz")
    }

    /// Loads `bpe_simple_vocab_16e6.txt.gz` (gzip) or its decompressed text.
    public convenience init(vocabulary url: URL? = CLIPTokenizer.bundledVocabulary) throws {
        guard let url else {
            throw TokenizerError.vocabulary(path: "bpe_simple_vocab_16e6.txt.gz",
                                            reason: "the bundled vocabulary is missing from this build; pass the file from the open_clip_torch package")
        }
        let raw: Data
        do { raw = try Data(contentsOf: url) } catch {
            throw TokenizerError.vocabulary(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        let data = raw.starts(with: [0x1F, 0x8B]) ? try gunzip(raw, name: url.path) : raw
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.vocabulary(path: url.path, reason: "not UTF-8 text")
        }
        try self.init(mergesText: text, name: url.path)
    }

    init(mergesText text: String, name: String) throws {
        let lines = text.split(separator: "\n", maxSplits: Self.mergeCount + 1, omittingEmptySubsequences: false)
        guard lines.count > Self.mergeCount else {
            throw TokenizerError.vocabulary(path: name, reason: "\(lines.count) lines, expected at least \(Self.mergeCount + 1)")
        }
        let bytes = byteToUnicode()
        // Ids follow the map's construction order: printable bytes first, then the remapped ones.
        let order = bytes.enumerated().sorted { $0.element.unicodeScalars.first!.value < $1.element.unicodeScalars.first!.value }
        var vocab = order.map { String($0.element) }
        vocab += order.map { String($0.element) + "</w>" }
        var ranks: [Pair: Int] = [:]
        ranks.reserveCapacity(Self.mergeCount)
        for r in 0..<Self.mergeCount {
            let parts = lines[r + 1].split(separator: " ")
            guard parts.count == 2 else {
                throw TokenizerError.vocabulary(path: name, reason: "line \(r + 2) is not a merge pair: '\(lines[r + 1].prefix(40))'")
            }
            ranks[Pair(a: String(parts[0]), b: String(parts[1]))] = r
            vocab.append(String(parts[0]) + String(parts[1]))
        }
        vocab += ["<start_of_text>", "<end_of_text>"]
        var encoder: [String: Int] = [:]
        for (i, v) in vocab.enumerated() { encoder[v] = i }
        guard encoder["<start_of_text>"] == Self.startOfText, encoder["<end_of_text>"] == Self.endOfText else {
            throw TokenizerError.vocabulary(path: name, reason: "special tokens are not at ids 49406/49407")
        }
        self.encoder = encoder
        self.ranks = ranks
        self.byteSymbols = bytes
    }

    /// BPE ids of `text` without SOT/EOT.
    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        for piece in preTokenize(TextCleanup.clean(text)) {
            if piece == "<start_of_text>" || piece == "<end_of_text>" {
                ids.append(encoder[piece]!)
                continue
            }
            let word = String(piece.utf8.map { byteSymbols[Int($0)] })
            ids += bpe(word)
        }
        return ids
    }

    /// `open_clip.tokenize`: (N, contextLength) int64, [SOT] ids [EOT] then zeros; a sequence that
    /// is too long is cut and its last id set to EOT.
    public func tokenize(_ texts: [String], contextLength: Int = 77) -> Tensor {
        var all: [Int] = []
        for text in texts {
            var ids = [Self.startOfText] + encode(text) + [Self.endOfText]
            if ids.count > contextLength {
                ids = Array(ids.prefix(contextLength))
                ids[contextLength - 1] = Self.endOfText
            }
            all += ids + [Int](repeating: 0, count: contextLength - ids.count)
        }
        return Tensor(ints: all, [texts.count, contextLength])
    }

    /// Merges the adjacent pair of lowest rank, all its occurrences at once, until none is ranked.
    private func bpe(_ token: String) -> [Int] {
        lock.lock()
        if let hit = cache[token] { lock.unlock(); return hit }
        lock.unlock()
        var word = token.unicodeScalars.map { String($0) }
        word[word.count - 1] += "</w>"
        while word.count > 1 {
            var best: (rank: Int, pair: Pair)?
            for i in 0..<(word.count - 1) {
                let p = Pair(a: word[i], b: word[i + 1])
                if let r = ranks[p], r < (best?.rank ?? Int.max) { best = (r, p) }
            }
            guard let (_, pair) = best else { break }
            var merged: [String] = []
            var i = 0
            while i < word.count {
                if i < word.count - 1, word[i] == pair.a, word[i + 1] == pair.b {
                    merged.append(pair.a + pair.b)
                    i += 2
                } else {
                    merged.append(word[i])
                    i += 1
                }
            }
            word = merged
        }
        let ids = word.map { encoder[$0]! }
        lock.lock(); cache[token] = ids; lock.unlock()
        return ids
    }
}

public enum TokenizerError: Error, CustomStringConvertible {
    case vocabulary(path: String, reason: String)

    public var description: String {
        switch self {
        case let .vocabulary(p, r): "\(p): BPE vocabulary: \(r)"
        }
    }
}

/// GPT-2's reversible byte → printable character map: printable Latin-1 bytes map to themselves,
/// the other 68 to U+0100 onwards in byte order.
func byteToUnicode() -> [Character] {
    var map = [Character](repeating: " ", count: 256)
    var next: UInt32 = 256
    for b in 0..<256 {
        let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
        if printable {
            map[b] = Character(Unicode.Scalar(UInt32(b))!)
        } else {
            map[b] = Character(Unicode.Scalar(next)!)
            next += 1
        }
    }
    return map
}

/// The reference regex, alternatives tried in order at each position: the special tokens,
/// 's 't 're 've 'm 'll 'd, a run of letters, ONE digit, a run of anything but whitespace, letters
/// and digits. Whitespace between matches is skipped. Works on Unicode scalars, as Python does.
func preTokenize(_ text: String) -> [String] {
    let s = Array(text.unicodeScalars)
    var out: [String] = []
    func isLetter(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }
    func isNumber(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: true
        default: false
        }
    }
    func matches(_ literal: String, at i: Int) -> Bool {
        let l = Array(literal.unicodeScalars)
        return i + l.count <= s.count && Array(s[i..<(i + l.count)]) == l
    }
    func emit(_ r: Range<Int>) { out.append(String(String.UnicodeScalarView(s[r]))) }
    var i = 0
    scan: while i < s.count {
        for literal in ["<start_of_text>", "<end_of_text>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"] where matches(literal, at: i) {
            let n = literal.unicodeScalars.count
            emit(i..<(i + n))
            i += n
            continue scan
        }
        let c = s[i]
        var j = i + 1
        if isLetter(c) {
            while j < s.count, isLetter(s[j]) { j += 1 }
        } else if isNumber(c) {
        } else if !c.properties.isWhitespace {
            while j < s.count, !s[j].properties.isWhitespace, !isLetter(s[j]), !isNumber(s[j]) { j += 1 }
        } else {
            i = j
            continue
        }
        emit(i..<j)
        i = j
    }
    return out
}
