#!/usr/bin/env python3
"""bench/make_big_tokenizer.py OUTDIR -- a Gemma-sized tokenizer.json for timing (not a test).

Starts from golden/text/tokenizer-gemma (the published Gemma structure) and grows it to a
256,000-entry vocabulary with about 445,000 merges (30.6 MB, pretty-printed like tokenizers' own
files; the size the load-time requirement names, "a 30 MB tokenizer.json"): merges that build English words
letter by letter (so that prompts merge for real) plus merges of random pairs of existing
tokens, and ~6,000 added tokens (Gemma has <unused*> and markup tokens) to load the trie.
Also writes OUTDIR/prompt.txt (2,000 characters of prompt text).
"""
import json
import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "golden", "text", "tokenizer-gemma")
VOCAB = 256000

TEXT = ("A photograph of an astronaut riding a horse on the moon, highly detailed, cinematic lighting, "
        "in a futuristic city with neon signs and flying cars; the quick brown fox jumps over the lazy dog. "
        "Café crème, naïve façade, 一只猫坐在窗台上, emoji 😀🚀 and numbers 1234567890. ")


def main(out):
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(SRC):
        shutil.copy(os.path.join(SRC, f), out)
    with open(os.path.join(out, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    m = tj["model"]
    vocab = dict(m["vocab"])
    merges = [tuple(x) for x in m["merges"]]
    toks = list(vocab)
    rng = random.Random(0)

    def add(a, b):
        c = a + b
        if a in vocab and b in vocab and c not in vocab:
            vocab[c] = len(vocab)
            merges.append((a, b))
            toks.append(c)

    # words of the prompt text, built left to right (with and without the leading ▁)
    words = TEXT.replace(" ", " \u2581").split(" ")
    for w in words * 2:
        for i in range(1, len(w)):
            add(w[:i], w[i]) if w[i] in vocab else None
    short = [t for t in toks if len(t) <= 3 and not t.startswith("<")]
    while len(vocab) < VOCAB:
        a = rng.choice(short if rng.random() < 0.5 else toks[-5000:])
        b = rng.choice(short)
        if a.startswith("<") or b.startswith("<"):
            continue
        add(a, b)
    # more merges, as in Gemma's file, where a token is often reachable by several pairs
    # (appended after the others, so they only rank last): ~445k merges, ~30 MB
    seen = set(merges)
    long_toks = [t for t in toks if len(t) >= 3 and not t.startswith("<")]
    for _ in range(16 * VOCAB):
        if len(merges) >= 2 * VOCAB - 12000:
            break
        tk = rng.choice(long_toks)
        k = rng.randint(1, len(tk) - 1)
        a, b = tk[:k], tk[k:]
        if a in vocab and b in vocab and (a, b) not in seen:
            seen.add((a, b))
            merges.append((a, b))
    m["vocab"] = vocab
    m["merges"] = [list(x) for x in merges]
    nid = len(vocab)
    for i in range(6000):
        tj["added_tokens"].append({"id": nid + i, "content": "<unused_big%d>" % i, "single_word": False,
                                   "lstrip": False, "rstrip": False, "normalized": False, "special": i % 2 == 0})
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, indent=2)
    prompt = (TEXT * 20)[:2000]
    with open(os.path.join(out, "prompt.txt"), "w", encoding="utf-8") as f:
        f.write(prompt)
    print("%s: %d vocabulary entries, %d merges, %.1f MB" % (out, len(vocab), len(merges),
          os.path.getsize(os.path.join(out, "tokenizer.json")) / 1e6))


if __name__ == "__main__":
    main(sys.argv[1])
