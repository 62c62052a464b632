import TCCore

/// Which way round a drawing's lines are (sketch-and-colorize.md §5). ToonCrafter's sketch encoder
/// wants WHITE lines on BLACK; people draw black on white; ControlNet ecosystems mix the two up.
public enum LinePolarity: String, CaseIterable, Sendable {
    /// Dark lines on light paper (pencil or ink drawings, Anime2Sketch output): inverted.
    case blackOnWhite = "black_on_white"
    /// Light lines on a dark background (ControlNet hints): used as is.
    case whiteOnBlack = "white_on_black"
    /// Decided per frame from the image: the paper is the majority. If at least half of the pixels
    /// have luminance ≥ 0.5 the paper is light, so the lines are black on white; otherwise white
    /// on black. A blank frame of either colour becomes an all-zero hint either way.
    case auto

    public init(parsing s: String) throws {
        guard let p = LinePolarity(rawValue: s) else {
            throw SketchError.invalidInput(what: "line polarity",
                                           expected: LinePolarity.allCases.map(\.rawValue).joined(separator: "|"),
                                           got: "'\(s)'")
        }
        self = p
    }

    /// The polarity of a luminance plane (H·W values at `p`) by the majority rule of `auto`.
    static func detect(_ p: UnsafePointer<Float>, count n: Int) -> LinePolarity {
        var light = 0
        for i in 0..<n where p[i] >= 0.5 { light += 1 }
        return 2 * light >= n ? .blackOnWhite : .whiteOnBlack
    }
}
