import Foundation
import Testing
import TCCore
import TCModels

@Suite struct TokenizerTests {
    static let tokenizer = Result { try CLIPTokenizer() }

    /// Spec §2.7 examples.
    @Test func specExamples() throws {
        let t = try Self.tokenizer.get()
        let ids = t.tokenize(["", "an anime scene"]).toInts()
        #expect(Array(ids[0..<77]) == [49406, 49407] + [Int](repeating: 0, count: 75))
        #expect(Array(ids[77..<82]) == [49406, 550, 6469, 3562, 49407])
        #expect(ids[82..<154].allSatisfy { $0 == 0 })
    }

    /// Fixture (f): the five prompts, including the messy one (case, punctuation, digits, accents,
    /// emoji, an HTML entity, a literal <end_of_text>) and one longer than 77 tokens, match
    /// open_clip.tokenize exactly.
    @Test(.enabled(if: SharedFixtures.available("clip_text"), "needs ../shared/parity/clip_text.safetensors"))
    func fixturePrompts() throws {
        let fixture = try ParityFixture(path: SharedFixtures.url("clip_text")!.path)
        let prompts = try fixture.meta.strings("prompts")
        let expected = try fixture.expected("tokens")
        let got = try Self.tokenizer.get().tokenize(prompts, contextLength: expected.dim(1))
        #expect(got.shape == expected.shape)
        let e = expected.toInts(), g = got.toInts(), l = expected.dim(1)
        for i in 0..<prompts.count {
            #expect(Array(g[(i * l)..<((i + 1) * l)]) == Array(e[(i * l)..<((i + 1) * l)]), "prompt \(i): \(prompts[i])")
        }
    }

    /// Extra cases made by tools/tokenizer/make_cases.py with the official open_clip tokenizer:
    /// `TCGRAPH_TOKENIZER_CASES=cases.json swift test -c release --filter TokenizerTests`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TCGRAPH_TOKENIZER_CASES"] != nil,
                   "set TCGRAPH_TOKENIZER_CASES to a JSON file of {text, tokens} cases"))
    func externalCases() throws {
        let path = ProcessInfo.processInfo.environment["TCGRAPH_TOKENIZER_CASES"]!
        let cases = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [[String: Any]]
        let t = try Self.tokenizer.get()
        var failures = 0
        for c in cases {
            let text = c["text"] as! String, want = (c["tokens"] as! [NSNumber]).map(\.intValue)
            let got = t.tokenize([text]).toInts()
            if got != want {
                failures += 1
                if failures <= 10 { print("MISMATCH \(text.debugDescription)\n  got  \(got.prefix(20))\n  want \(want.prefix(20))") }
            }
        }
        print("tokenizer cases: \(cases.count - failures) of \(cases.count) match")
        #expect(failures == 0)
    }

    @Test func missingVocabularyIsAClearError() {
        #expect(throws: TokenizerError.self) { try CLIPTokenizer(vocabulary: URL(fileURLWithPath: "/nonexistent/bpe.txt.gz")) }
    }
}
