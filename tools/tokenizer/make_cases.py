#!/usr/bin/env python3
"""Write tokenizer test cases ({text, tokens}) from the official open_clip tokenizer.

Usage: python3 tools/tokenizer/make_cases.py OUT.json
Then:  TCGRAPH_TOKENIZER_CASES=OUT.json swift test -c release --filter TokenizerTests

Needs open_clip_torch (2.22.0 is the version ToonCrafter pins) with its ftfy and regex; a tool for
checking the Swift tokenizer, never needed at run time.
"""
import json
import random
import sys

import open_clip

HAND_WRITTEN = [
    "", " ", "an anime scene", "A Man, walking... in the RAIN!!", "don't stop, it's mine, we'll see, I'd say",
    "'s 't 're 've 'm 'll 'd", "!'s", "rock'n'roll", "1234567890", "v2.0-beta_3", "x² ½ Ⅻ ٣",
    "café naïve résumé", "cafe\u0301 decomposed", "Straße ǅemal ﬁne ﬂow", "ＦＵＬＬ　ｗｉｄｔｈ！", "‘curly’ “double”",
    "tab\tnew\nline\r\nwindows\u2028sep", "&amp; &lt;b&gt; &#65;&#x42; &eacute; &copy &nbsp;x", "&amp;amp;amp;",
    "<b>&amp;amp;</b>", "<start_of_text> and <end_of_text>", "<END_OF_TEXT>", "<|endoftext|>",
    "emoji 🐱🐶 👍🏽 👨‍👩‍👧", "中文 日本語 한국어", "Ελληνικά русский עברית العربية", "ÀÉÎÕÜ Ĳssel",
    "control\u0001chars\u007f\ufeffhere", "\x1b[31mred\x1b[0m text", "İstanbul ΣΊΣΥΦΟΣ", "a" * 300,
    "hello-world foo_bar baz.qux", "...", "?!?!", "(2024)", "$100 @user #tag 50%", "naïve ← → ∞ ≠",
    "  leading and trailing  ", "mixed   \t  whitespace", "\u00a0nbsp\u00a0", "ﬃ ﬄ ﬅ ﬆ",
]


def random_prompts(n, seed=1):
    rng = random.Random(seed)
    pieces = ["cat", "Dog", "running", "in", "the", "rain", ",", ".", "!", "?", "'s", "don't", "2024", "7",
              "café", "🐱", "&amp;", "&quot;", "  ", "\t", "über", "ΑΒΓ", "東京", "-", "_", "...", "(", ")",
              "<end_of_text>", "x²", "ﬁ", "“", "”", "’", "—", "/", "\\", "Hello", "WORLD"]
    out = []
    for _ in range(n):
        k = rng.randint(1, 40)
        out.append("".join(rng.choice(pieces) + rng.choice([" ", "", " "]) for _ in range(k)))
    return out


def main():
    texts = HAND_WRITTEN + random_prompts(500)
    tokens = open_clip.tokenize(texts).tolist()
    json.dump([{"text": t, "tokens": k} for t, k in zip(texts, tokens)], open(sys.argv[1], "w"), ensure_ascii=False)
    print(f"{len(texts)} cases written to {sys.argv[1]}")


if __name__ == "__main__":
    main()
