#!/usr/bin/env python3
"""golden/dump_tokenizer.py -- tokenizer folders and token-id goldens for tests/test-tokenizer.

Builds small tokenizers the way Gemma's was made (SentencePiece BPE with
byte_fallback, converted by transformers; see make_tokenizer.py) into
golden/text/tokenizer-<name>/, and for each one runs the real fast tokenizer
(Rust `tokenizers` under transformers) on a varied prompt corpus:

  ids       tokenizer(p, add_special_tokens=False).input_ids   (variable length)
  padded    tokenizer(p, padding="max_length", max_length=L, truncation=True,
                      add_special_tokens=True) with padding_side="right", as
            SanaPipeline._get_gemma_prompt_embeds calls it: L = 300 (SANA's
            max_sequence_length), L = 24 (truncates most prompts), and the
            complex-human-instruction form (chi + prompt, L = len(encode(chi)) + 300 - 2)
  decoded   tokenizer.decode(ids_with_bos, skip_special_tokens=True)

into golden/text/tokenizer-<name>.safetensors(.gz). Flat int32 tensors with
offsets (the prompts are UTF-8 bytes in a uint8 tensor):
  prompt_bytes, prompt_off[N+1], ids, ids_off[N+1], decoded_bytes, decoded_off[N+1],
  pad_len[K], pad_prompt[K], pad_chi[K], pad_ids[sum L], pad_mask[sum L], pad_off[K+1]
The complex human instruction is in metadata "chi" (and as bytes, chi_bytes).
Deterministic: fixed corpora, fixed seeds.
"""
import inspect
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import GOLDEN_DIR, save  # noqa: E402
from make_tokenizer import make_tokenizer  # noqa: E402

OUT = os.path.join(GOLDEN_DIR, "text")


def sana_chi():
    from diffusers import SanaPipeline
    return list(inspect.signature(SanaPipeline.__call__).parameters["complex_human_instruction"].default)


# ---------------------------------------------------------------- training corpus
TRAIN_EN = """\
A photograph of an astronaut riding a horse on the moon, highly detailed, 4k.
A small cabin in the snowy mountains at dusk, warm light in the windows, smoke from the chimney.
The quick brown fox jumps over the lazy dog while the sun sets behind the hills.
An oil painting of a harbour with fishing boats, gulls and a lighthouse, in the style of Turner.
Close-up portrait of an old sailor with a white beard, dramatic lighting, 85mm lens.
A futuristic city skyline at night with neon signs, flying cars and rain on the streets.
Two cats sleeping on a windowsill, soft morning light, watercolor illustration.
A bowl of ramen with egg, scallions and chashu pork, food photography, shallow depth of field.
Minimalist logo of a mountain and a river, flat design, blue and green.
A cozy library with tall wooden shelves, a fireplace and a red armchair.
The image shows a red bicycle leaning against a yellow wall in an old Italian town.
Generate an image of a dragon made of glass, refracting light into rainbows.
In 1969, 3 astronauts flew 384,400 km to the Moon; the trip took about 76 hours.
Prices: $12.99, 45%, 3.14159, 2024-05-17, 10:30 am, #hashtag, @user, user@example.com.
def main(): print("hello, world")  # code in a prompt
Café crème, naïve façade, über schön, señor, jalapeño, déjà vu, smörgåsbord, Ærø, Łódź.
Une maison bleue au bord de la mer, avec des fleurs et un chat qui dort.
Ein roter Apfel auf einem Holztisch, daneben eine Tasse Kaffee.
Un perro corriendo en la playa al atardecer.
一只猫坐在窗台上，看着外面的雨。
美しい桜の木と富士山の風景、日本画のスタイル。
"""


def training_corpus(chi):
    rng = random.Random(1234)
    lines = [l for l in TRAIN_EN.split("\n") if l] + chi
    out = []
    for _ in range(40):
        rng.shuffle(lines)
        out.extend(lines)
        # word-level recombinations so that merges have more to learn from
        words = " ".join(lines).split(" ")
        out.append(" ".join(rng.choice(words) for _ in range(30)))
    return "\n".join(out)


# ---------------------------------------------------------------- prompt corpus
def prompt_corpus(chi):
    fixed = [
        "",
        "a",
        " ",
        "hello",
        "Hello world",
        "A photograph of an astronaut riding a horse on the moon.",
        "a cat",
        "A cat holding a sign that says hello world",
        "punctuation!? ... ,;:'\"()[]{}<>-_=+*/\\|~`^&%$#@",
        "digits 0123456789 and 3.14159, 1,000,000 and 2024-05-17",
        "runs of spaces:  two   three    four     five",
        "   leading spaces and trailing spaces   ",
        "line one\nline two\n\nafter a blank line\n\n\nthree newlines",
        "tabs\tbetween\t\twords\t",
        "mixed \t \n whitespace \r\n windows line end",
        "Café crème, naïve façade, über schön, señor, déjà vu, Ærø, Łódź, Ελληνικά, русский",
        "一只猫坐在窗台上，看着外面的雨。",
        "美しい桜の木と富士山の風景、日本画のスタイル。한국어 문장입니다.",
        "emoji: 😀 🐱‍👤 👍🏽 🇫🇷 ❤️ ✨ 🚀",
        "<bos>",
        "<bos> a prompt that spells <bos> and <eos> and <pad>",
        "<start_of_turn>user\nDraw a cat<end_of_turn>\n<start_of_turn>model\n",
        "<mask> [multimodal] <table><h1>Title</h1></table>",
        "<unused0><unused1><unk>",
        "<bos<eos>>< bos>",
        "text\n\nwith\n\n\n\nparagraphs",
        "x <x> y<x>z  <x>  w",
        "the hello world and hello  world and HELLO WORLD",
        "ab cd ab  cd abcd",
        "<sw> word<sw> <sw>word <sw>",
        "\u00a0non-breaking\u2003em space\u3000ideographic",
        "zero\u200bwidth\u200djoiner",
        "combining e\u0301 and precomposed \u00e9",
        "ẞ ﬁ ½ ² ℃ № ™",
        "\x00nul\x01ctrl\x7f",
        "🀄🃏 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𓀀 \U0010FFFD",
        "▁ already has the metaspace ▁▁ char",
        "no_space_at_all_just_underscores_and_CamelCaseWords",
        "a" * 300,
        "ab" * 200,
        " " * 64,
        "\n" * 20,
        chi[0],
        "\n".join(chi),
    ]
    long_text = " ".join([TRAIN_EN.replace("\n", " ")] * 3)
    fixed.append(long_text[:2000])
    fixed.append(long_text)
    # random strings over a varied character pool
    rng = random.Random(42)
    pool = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            + list(" " * 12) + list("\n\t.,!?'\"-:;()") + list("éèàüößçñøåæœ") + list("猫雨山日本語中文")
            + ["😀", "🚀", "👍🏽", "❤️", "<bos>", "<eos>", "<mask>", "\n\n", "<x>", "hello", " world",
               "▁", "\u00a0", "\u3000", "ab cd", "<sw>"])
    words = TRAIN_EN.split()
    for i in range(160):
        n = rng.randint(1, 60)
        if i % 2:
            s = "".join(rng.choice(pool) for _ in range(n))
        else:
            s = " ".join(rng.choice(words) for _ in range(n // 3 + 1))
        fixed.append(s)
    return fixed


# ---------------------------------------------------------------- tokenizers
EXTRA_ADDED = [
    dict(content="<x>", lstrip=True, rstrip=True, normalized=False),
    dict(content="hello world", normalized=True),
    dict(content="ab cd", normalized=True, special=True),
    dict(content="<sw>", single_word=True, normalized=False),
]


def build_tokenizers(chi):
    corpus = training_corpus(chi)
    specs = {
        # Gemma's published structure, as SANA uses it
        "gemma": dict(vocab_size=1000, character_coverage=0.9995),
        # the variants: "a b" merges, ignore_merges, missing byte pieces (F0: emoji, E4: some CJK),
        # flagged added tokens, add_eos_token
        "gemma-var": dict(vocab_size=500, character_coverage=0.999, merges_as_strings=True, ignore_merges=True,
                          rename_bytes=[0xF0, 0xE4], added_tokens=EXTRA_ADDED, add_eos_token=True),
        # Llama-family conversions of the same kind of model
        "llama": dict(vocab_size=700, kind="llama", legacy=True, add_dummy_prefix=True),
        "llama-metaspace": dict(vocab_size=700, kind="llama", legacy=False, add_dummy_prefix=True),
    }
    dirs = {}
    for name, kw in specs.items():
        d = os.path.join(OUT, "tokenizer-" + name)
        make_tokenizer(d, corpus, **kw)
        dirs[name] = d
    return dirs


def flat(seqs, dtype=torch.int32):
    off = [0]
    vals = []
    for s in seqs:
        vals.extend(s)
        off.append(len(vals))
    return torch.tensor(vals, dtype=dtype), torch.tensor(off, dtype=torch.int32)


def dump(name, d, prompts, chi):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(d)
    assert tok.is_fast
    tok.padding_side = "right"      # as SanaPipeline sets it
    enc = [p.encode("utf-8") for p in prompts]
    t = {}
    t["prompt_bytes"], t["prompt_off"] = flat([list(b) for b in enc], torch.uint8)
    ids = [tok(p, add_special_tokens=False).input_ids for p in prompts]
    t["ids"], t["ids_off"] = flat(ids)
    dec = [tok.decode(tok(p).input_ids, skip_special_tokens=True).encode("utf-8") for p in prompts]
    t["decoded_bytes"], t["decoded_off"] = flat([list(b) for b in dec], torch.uint8)
    chi_prompt = "\n".join(chi)
    n_chi = len(tok.encode(chi_prompt))
    cases = []
    for i, p in enumerate(prompts):
        cases.append((i, 0, 300))
        cases.append((i, 0, 24))
        if i % 4 == 0:
            cases.append((i, 1, n_chi + 300 - 2))
    pad_ids, pad_mask = [], []
    for i, use_chi, L in cases:
        text = chi_prompt + prompts[i] if use_chi else prompts[i]
        r = tok(text, padding="max_length", max_length=L, truncation=True, add_special_tokens=True)
        assert len(r.input_ids) == L
        pad_ids.append(r.input_ids)
        pad_mask.append(r.attention_mask)
    t["pad_ids"], t["pad_off"] = flat(pad_ids)
    t["pad_mask"], _ = flat(pad_mask)
    t["pad_prompt"] = torch.tensor([c[0] for c in cases], dtype=torch.int32)
    t["pad_chi"] = torch.tensor([c[1] for c in cases], dtype=torch.int32)
    t["pad_len"] = torch.tensor([c[2] for c in cases], dtype=torch.int32)
    t["chi_bytes"] = torch.tensor(list(chi_prompt.encode("utf-8")), dtype=torch.uint8)
    t["special"] = torch.tensor([tok.pad_token_id, tok.bos_token_id, len(tok)], dtype=torch.int32)
    cfg = {"tokenizer": "text/tokenizer-" + name, "class": type(tok).__name__, "n_prompts": len(prompts),
           "n_padded": len(cases), "n_chi_tokens": n_chi}
    save("text/tokenizer-%s.safetensors" % name, t, __file__, config=cfg, gz=True)
    return len(prompts), len(cases)


# ---------------------------------------------------------------- feature variants (Rust tokenizers only)
def feature_variants(base_dir):
    """tokenizer.json files that differ from Gemma's in one part each, for the parts of the format
    that Gemma's file does not use (Llama-family and other SentencePiece conversions do)."""
    import copy
    import json
    with open(os.path.join(base_dir, "tokenizer.json"), encoding="utf-8") as f:
        base = json.load(f)
    M = "\u2581"
    rep = {"type": "Replace", "pattern": {"String": " "}, "content": M}

    def split(pat, behavior, invert=False):
        return {"type": "Split", "pattern": {"String": pat}, "behavior": behavior, "invert": invert}

    v = {}
    # normalizers Strip and Prepend, Metaspace pre-tokenizer that splits, Strip/Metaspace decoders
    t = copy.deepcopy(base)
    t["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Strip", "strip_left": True, "strip_right": True}, {"type": "Prepend", "prepend": M}, rep]}
    t["pre_tokenizer"] = {"type": "Metaspace", "replacement": M, "prepend_scheme": "always", "split": True}
    t["decoder"] = {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": M}, "content": " "},
                    {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    v["feat-metaspace-split"] = t
    # Metaspace with prepend_scheme "first" after a normalizer-free input, Metaspace decoder
    t = copy.deepcopy(base)
    t["normalizer"] = None
    t["pre_tokenizer"] = {"type": "Metaspace", "replacement": M, "prepend_scheme": "first", "split": True}
    t["decoder"] = {"type": "Metaspace", "replacement": M, "prepend_scheme": "first", "split": True}
    v["feat-metaspace-first"] = t
    # every Split behaviour, on the metaspace character and on a letter, with invert
    for name, pre in [("isolated", split(M, "Isolated")), ("removed", split(M, "Removed")),
                      ("contiguous", split(M, "Contiguous")), ("next", split(M, "MergedWithNext")),
                      ("prev-invert", split("e", "MergedWithPrevious", True)),
                      ("seq", {"type": "Sequence", "pretokenizers": [split(M, "MergedWithNext"),
                                                                     split("\n", "Isolated")]})]:
        t = copy.deepcopy(base)
        t["pre_tokenizer"] = pre
        v["feat-split-" + name] = t
    # no byte fallback, unk not fused; no post-processor, no decoder
    t = copy.deepcopy(base)
    t["model"]["byte_fallback"] = False
    t["model"]["fuse_unk"] = False
    t["post_processor"] = None
    t["decoder"] = None
    v["feat-nofallback"] = t
    # added tokens with every flag, matched on raw and on normalized text
    t = copy.deepcopy(base)
    nid = max(a["id"] for a in t["added_tokens"]) + 1
    nid = max(nid, len(t["model"]["vocab"]))
    extra = [("<x>", dict(lstrip=True, rstrip=True)), ("hello world", dict(normalized=True)),
             ("<sw>", dict(single_word=True)), ("ab cd", dict(normalized=True, single_word=True, special=True)),
             ("the", dict(normalized=True, lstrip=True)), ("\n\n\n", dict(rstrip=True))]
    for i, (c, fl) in enumerate(extra):
        a = {"id": nid + i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": False}
        a.update(fl)
        t["added_tokens"].append(a)
    v["feat-added-flags"] = t
    return v


def dump_features(base_dir, prompts, chi):
    import json
    from tokenizers import Tokenizer
    chi_prompt = "\n".join(chi)
    n_total = 0
    for name, tj in feature_variants(base_dir).items():
        d = os.path.join(OUT, "tokenizer-" + name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False, indent=2)
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        t = {}
        enc = [p.encode("utf-8") for p in prompts]
        t["prompt_bytes"], t["prompt_off"] = flat([list(b) for b in enc], torch.uint8)
        ids = [tok.encode(p, add_special_tokens=False).ids for p in prompts]
        t["ids"], t["ids_off"] = flat(ids)
        dec = [tok.decode(tok.encode(p).ids, skip_special_tokens=True).encode("utf-8") for p in prompts]
        t["decoded_bytes"], t["decoded_off"] = flat([list(b) for b in dec], torch.uint8)
        cases = [(i, 0, L) for i in range(len(prompts)) for L in (24, 300)]
        pad_ids, pad_mask = [], []
        for i, use_chi, L in cases:
            tok.enable_padding(pad_id=0, pad_token="<pad>", length=L, direction="right")
            tok.enable_truncation(max_length=L)
            e = tok.encode(prompts[i], add_special_tokens=True)
            pad_ids.append(e.ids)
            pad_mask.append(e.attention_mask)
        tok.no_padding()
        tok.no_truncation()
        t["pad_ids"], t["pad_off"] = flat(pad_ids)
        t["pad_mask"], _ = flat(pad_mask)
        t["pad_prompt"] = torch.tensor([c[0] for c in cases], dtype=torch.int32)
        t["pad_chi"] = torch.tensor([c[1] for c in cases], dtype=torch.int32)
        t["pad_len"] = torch.tensor([c[2] for c in cases], dtype=torch.int32)
        t["chi_bytes"] = torch.tensor(list(chi_prompt.encode("utf-8")), dtype=torch.uint8)
        bos = tok.token_to_id("<bos>")
        t["special"] = torch.tensor([0, bos, tok.get_vocab_size(with_added_tokens=True)], dtype=torch.int32)
        cfg = {"tokenizer": "text/tokenizer-" + name, "class": "tokenizers.Tokenizer", "n_prompts": len(prompts),
               "n_padded": len(cases)}
        save("text/tokenizer-%s.safetensors" % name, t, __file__, config=cfg, gz=True)
        n_total += len(prompts) + len(cases)
    return n_total


def main():
    chi = sana_chi()
    dirs = build_tokenizers(chi)
    prompts = prompt_corpus(chi)
    total = 0
    for name, d in dirs.items():
        n, k = dump(name, d, prompts, chi)
        total += n + k
        print("%s: %d prompts, %d padded cases" % (name, n, k))
    total += dump_features(dirs["gemma"], prompts, chi)
    print("total cases:", total)


if __name__ == "__main__":
    main()
