import TCCore

/// Reference-based colourisation as a mode of sketch-guided interpolation (sketch-and-colorize.md
/// §4, §6.8): the colour references become the keyframes and the sketches guide every frame.
///
/// - Dual reference: the references are colour versions of the first and last sketch; the
///   sketches go through unchanged, one per output frame.
/// - Single reference (loop mode): the reference is used at both ends, the last sketch becomes the
///   first one (the clip returns to the reference), and the last output frame is dropped
///   (DynamiCrafter's loop convention, which the official single-reference demos show).
public enum Colorization {
    public enum Mode: String, Sendable {
        case dualReference = "dual_reference"
        case singleReference = "single_reference"
    }

    /// The model-frame sketches for `mode`, with notes for the user. `frames` is the number of
    /// frames the model generates. Dual reference: exactly `frames` sketches. Single reference:
    /// `frames` − 1 sketches (one per kept output frame; the first is appended as the last) or
    /// `frames` (the last is replaced by the first, and its output frame is dropped).
    public static func modelSketches(_ sketches: SketchFrames, frames: Int, mode: Mode) throws
        -> (sketches: SketchFrames, notes: [String]) {
        guard frames >= 2 else {
            throw SketchError.invalidInput(what: "colourisation frame count", expected: "at least 2", got: "\(frames)")
        }
        let n = sketches.count
        var notes: [String] = []
        let absent = sketches.present.enumerated().filter { !$0.element }.map(\.offset)
        switch mode {
        case .dualReference:
            guard n == frames else {
                throw SketchError.invalidInput(what: "sketches for dual-reference colourisation",
                                               expected: "\(frames) (one per output frame; the references match the first and last)",
                                               got: "\(n)")
            }
            if !absent.isEmpty { notes.append(absentNote(absent)) }
            return (sketches, notes)
        case .singleReference:
            guard n == frames - 1 || n == frames else {
                throw SketchError.invalidInput(what: "sketches for single-reference colourisation",
                                               expected: "\(frames - 1) (one per output frame) or \(frames) (the last is replaced by the first)",
                                               got: "\(n)")
            }
            let kept = sketches.frames.sliced(axis: 0, 0..<(frames - 1))
            let out = concat([kept, sketches.frames.sliced(axis: 0, 0..<1)], axis: 0)
            let present = Array(sketches.present.prefix(frames - 1)) + [sketches.present[0]]
            if n == frames {
                notes.append("single reference: sketch \(frames - 1) is replaced by sketch 0 (the clip loops back to the reference) and its output frame is dropped")
            }
            let missing = absent.filter { $0 < frames - 1 }
            if !missing.isEmpty { notes.append(absentNote(missing)) }
            return (try SketchFrames(frames: out, present: present), notes)
        }
    }

    private static func absentNote(_ frames: [Int]) -> String {
        "frames without a sketch: \(frames.map(String.init).joined(separator: ",")) (colourisation expects one per frame; they get blank hints)"
    }
}
