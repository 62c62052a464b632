import Foundation

/// The CLIP tokenizer's text cleanup (spec §2.7): `ftfy.fix_text` with default settings, HTML
/// unescaping twice, whitespace runs collapsed to one space, stripped, lower-cased.
///
/// Of ftfy this implements what changes ordinary prompts: HTML entities (repeated to a fixed point
/// unless the text contains '<', as ftfy's "auto" mode does), Latin ligatures, full-width and
/// half-width forms, curly quotes, line breaks, terminal escape sequences, control characters and
/// NFC. Not implemented: mojibake repair (text that was UTF-8 decoded as Latin-1/Windows-1252) and
/// the C1-control → Windows-1252 mapping; such text is tokenised as it is.
enum TextCleanup {
    static func clean(_ text: String) -> String {
        var t = fixText(text)
        t = HTMLEntities.unescape(HTMLEntities.unescape(t))
        return lowercased(collapseWhitespace(t))
    }

    /// Python's `str.lower()`: full lowercase mapping including the Final_Sigma rule (Σ → ς at the end
    /// of a word), which Swift's `lowercased()` does not apply.
    static func lowercased(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{03A3}") else { return text.lowercased() }
        let s = Array(text.unicodeScalars)
        var out = ""
        for (i, c) in s.enumerated() {
            guard c == "\u{03A3}" else { out += String(c).lowercased(); continue }
            func casedNeighbour(_ indices: some Sequence<Int>) -> Bool {
                for j in indices where !s[j].properties.isCaseIgnorable { return s[j].properties.isCased }
                return false
            }
            let final = casedNeighbour(stride(from: i - 1, through: 0, by: -1)) && !casedNeighbour((i + 1)..<s.count)
            out += final ? "\u{03C2}" : "\u{03C3}"
        }
        return out
    }

    /// Runs of Unicode whitespace → one space, then strip.
    static func collapseWhitespace(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for s in text.unicodeScalars {
            if s.properties.isWhitespace {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(s)
            }
        }
        return String(out)
    }

    /// ftfy.fix_text's default steps, repeated until nothing changes.
    static func fixText(_ text: String) -> String {
        let unescape = !text.contains("<")
        var t = text
        while true {
            let before = t
            if unescape { t = HTMLEntities.unescape(t, requireSemicolon: true) }
            t = removeTerminalEscapes(t)
            t = mapScalars(t)
            t = t.precomposedStringWithCanonicalMapping
            if t == before { return t }
        }
    }

    /// Ligatures, width forms, quotes, line breaks and control characters, scalar by scalar.
    private static func mapScalars(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var scalars = Array(text.unicodeScalars)[...]
        while let s = scalars.popFirst() {
            let v = s.value
            if s == "\r" {
                if scalars.first == "\n" { scalars.removeFirst() }
                out.append("\n")
            } else if v == 0x2028 || v == 0x2029 || v == 0x85 {
                out.append("\n")
            } else if isControl(v) {
                continue
            } else if v == 0x2BC || (0x2018...0x201B).contains(v) {
                out.append("'")
            } else if (0x201C...0x201F).contains(v) {
                out.append("\"")
            } else if let lig = ligatures[v] {
                out.append(contentsOf: lig.unicodeScalars)
            } else if v == 0x3000 {
                out.append(" ")
            } else if (0xFF01...0xFFEE).contains(v) {
                out.append(contentsOf: String(s).precomposedStringWithCompatibilityMapping.unicodeScalars)
            } else {
                out.append(s)
            }
        }
        return String(out)
    }

    private static func isControl(_ v: UInt32) -> Bool {
        v <= 0x08 || v == 0x0B || (0x0E...0x1F).contains(v) || v == 0x7F || (0x206A...0x206F).contains(v)
            || v == 0xFEFF || (0xFFF9...0xFFFC).contains(v)
    }

    /// ftfy's ligature list: the Latin compatibility ligatures, split into their letters.
    private static let ligatures: [UInt32: String] = [
        0x132: "IJ", 0x133: "ij", 0x149: "ʼn", 0x1C4: "DŽ", 0x1C5: "Dž", 0x1C6: "dž", 0x1C7: "LJ",
        0x1C8: "Lj", 0x1C9: "lj", 0x1CA: "NJ", 0x1CB: "Nj", 0x1CC: "nj", 0x1F1: "DZ", 0x1F2: "Dz",
        0x1F3: "dz", 0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "ſt",
        0xFB06: "st",
    ]

    /// ANSI terminal escapes: ESC [ digits-and-semicolons letter (before control characters go).
    private static func removeTerminalEscapes(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{1B}") else { return text }
        var out = String.UnicodeScalarView()
        let s = Array(text.unicodeScalars)
        var i = 0
        while i < s.count {
            if s[i] == "\u{1B}", i + 1 < s.count, s[i + 1] == "[" {
                var j = i + 2
                while j < s.count, ("0"..."9").contains(s[j]) || s[j] == ";" { j += 1 }
                if j < s.count, s[j].isASCII, s[j].properties.isAlphabetic { i = j + 1; continue }
            }
            out.append(s[i])
            i += 1
        }
        return String(out)
    }
}

/// Python's `html.unescape` for numeric character references and a table of common named
/// entities (the XML five, the Latin-1 set's usual members and typographic punctuation). As in
/// HTML5, the Latin-1 names (and amp/lt/gt/quot) are also recognised without the semicolon.
enum HTMLEntities {
    static func unescape(_ text: String, requireSemicolon: Bool = false) -> String {
        guard text.contains("&") else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            guard s[i] == "&", let (replacement, length) = reference(s, at: i, requireSemicolon: requireSemicolon) else {
                out.append(s[i])
                i += 1
                continue
            }
            out.append(contentsOf: replacement.unicodeScalars)
            i += length
        }
        return String(out)
    }

    private static func reference(_ s: [Unicode.Scalar], at start: Int, requireSemicolon: Bool) -> (String, Int)? {
        var i = start + 1
        if i < s.count, s[i] == "#" {
            i += 1
            let hex = i < s.count && (s[i] == "x" || s[i] == "X")
            if hex { i += 1 }
            let digitsStart = i
            while i < s.count, hex ? s[i].properties.isASCIIHexDigit : ("0"..."9").contains(s[i]) { i += 1 }
            guard i > digitsStart else { return nil }
            let semicolon = i < s.count && s[i] == ";"
            if requireSemicolon && !semicolon { return nil }
            let digits = String(String.UnicodeScalarView(s[digitsStart..<i]))
            let value = UInt32(digits, radix: hex ? 16 : 10) ?? UInt32.max
            let scalar = (value == 0 || (0xD800...0xDFFF).contains(value)) ? nil : Unicode.Scalar(value)
            return (String(scalar ?? "\u{FFFD}"), i - start + (semicolon ? 1 : 0))
        }
        var j = i
        while j < s.count, j - i < 32, s[j].properties.isAlphabetic || ("0"..."9").contains(s[j]) { j += 1 }
        let name = String(String.UnicodeScalarView(s[i..<j]))
        if j < s.count, s[j] == ";", let v = named[name] { return (String(Unicode.Scalar(v)!), j - start + 1) }
        if requireSemicolon { return nil }
        // Without a semicolon: the longest legacy name that prefixes the text.
        for len in stride(from: name.count, through: 2, by: -1) {
            let prefix = String(name.prefix(len))
            if let v = named[prefix], v <= 0xFF { return (String(Unicode.Scalar(v)!), 1 + len) }
        }
        return nil
    }

    private static let named: [String: UInt32] = [
        "amp": 0x26, "lt": 0x3C, "gt": 0x3E, "quot": 0x22, "apos": 0x27, "nbsp": 0xA0, "iexcl": 0xA1,
        "cent": 0xA2, "pound": 0xA3, "curren": 0xA4, "yen": 0xA5, "brvbar": 0xA6, "sect": 0xA7, "uml": 0xA8,
        "copy": 0xA9, "ordf": 0xAA, "laquo": 0xAB, "not": 0xAC, "shy": 0xAD, "reg": 0xAE, "macr": 0xAF,
        "deg": 0xB0, "plusmn": 0xB1, "sup2": 0xB2, "sup3": 0xB3, "acute": 0xB4, "micro": 0xB5, "para": 0xB6,
        "middot": 0xB7, "cedil": 0xB8, "sup1": 0xB9, "ordm": 0xBA, "raquo": 0xBB, "frac14": 0xBC,
        "frac12": 0xBD, "frac34": 0xBE, "iquest": 0xBF, "times": 0xD7, "divide": 0xF7,
        "Agrave": 0xC0, "Aacute": 0xC1, "Acirc": 0xC2, "Atilde": 0xC3, "Auml": 0xC4, "Aring": 0xC5,
        "AElig": 0xC6, "Ccedil": 0xC7, "Egrave": 0xC8, "Eacute": 0xC9, "Ecirc": 0xCA, "Euml": 0xCB,
        "Igrave": 0xCC, "Iacute": 0xCD, "Icirc": 0xCE, "Iuml": 0xCF, "ETH": 0xD0, "Ntilde": 0xD1,
        "Ograve": 0xD2, "Oacute": 0xD3, "Ocirc": 0xD4, "Otilde": 0xD5, "Ouml": 0xD6, "Oslash": 0xD8,
        "Ugrave": 0xD9, "Uacute": 0xDA, "Ucirc": 0xDB, "Uuml": 0xDC, "Yacute": 0xDD, "THORN": 0xDE,
        "szlig": 0xDF, "agrave": 0xE0, "aacute": 0xE1, "acirc": 0xE2, "atilde": 0xE3, "auml": 0xE4,
        "aring": 0xE5, "aelig": 0xE6, "ccedil": 0xE7, "egrave": 0xE8, "eacute": 0xE9, "ecirc": 0xEA,
        "euml": 0xEB, "igrave": 0xEC, "iacute": 0xED, "icirc": 0xEE, "iuml": 0xEF, "eth": 0xF0,
        "ntilde": 0xF1, "ograve": 0xF2, "oacute": 0xF3, "ocirc": 0xF4, "otilde": 0xF5, "ouml": 0xF6,
        "oslash": 0xF8, "ugrave": 0xF9, "uacute": 0xFA, "ucirc": 0xFB, "uuml": 0xFC, "yacute": 0xFD,
        "thorn": 0xFE, "yuml": 0xFF, "ndash": 0x2013, "mdash": 0x2014, "lsquo": 0x2018, "rsquo": 0x2019,
        "sbquo": 0x201A, "ldquo": 0x201C, "rdquo": 0x201D, "bdquo": 0x201E, "bull": 0x2022,
        "hellip": 0x2026, "prime": 0x2032, "euro": 0x20AC, "trade": 0x2122, "larr": 0x2190,
        "rarr": 0x2192, "hearts": 0x2665, "star": 0x2606,
    ]
}
