#!/usr/bin/env python3
"""golden/make_tokenizer.py -- build a tiny Gemma-style tokenizer folder.

Gemma's tokenizer was made by Google as a SentencePiece BPE model with
byte_fallback and then converted by transformers (GemmaConverter) into the
Hugging Face `tokenizers` JSON format. We do the same on a small corpus, so the
tokenizer.json we test on has the published structure: a Replace(" " -> "▁")
normalizer, the Split pre-tokenizer, a BPE model with merges and
byte_fallback, added tokens (special and not), and a TemplateProcessing
post-processor that puts <bos> first.

Importable:
    from make_tokenizer import make_tokenizer
    make_tokenizer("golden/ckpt/tiny/tokenizer", corpus_text, vocab_size=600)

The result is deterministic for a given corpus and set of options
(SentencePiece is trained single-threaded with a fixed seed-free setup).
"""
import io
import json
import os
import sys
import tempfile

# Gemma's layout of the first ids (GemmaConverter.vocab puts pad, eos, bos first, unk is id 3).
PAD, EOS, BOS, UNK = "<pad>", "<eos>", "<bos>", "<unk>"

# Symbols like Gemma's: turn markers are special (GemmaConverter marks them so);
# the rest of the user-defined symbols become added tokens that are NOT special.
DEFAULT_USER_SYMBOLS = ["<start_of_turn>", "<end_of_turn>", "<mask>", "[multimodal]",
                        "\n\n", "<table>", "<h1>"]
DEFAULT_CONTROL_SYMBOLS = ["<unused0>", "<unused1>"]


def make_tokenizer(outdir, corpus_text, vocab_size, user_defined_symbols=None,
                   control_symbols=None, character_coverage=1.0, rename_bytes=(),
                   merges_as_strings=False, ignore_merges=None, added_tokens=(), add_eos_token=False,
                   kind="gemma", legacy=True, add_dummy_prefix=False, model_max_length=8192):
    """Train a SentencePiece BPE model (byte_fallback=True) on corpus_text, convert
    it with transformers' GemmaTokenizerFast and save_pretrained it into outdir.

    vocab_size: the SentencePiece vocabulary size (>= 256 byte pieces + specials +
        symbols + the characters of the corpus; trained with hard_vocab_limit=False
        so a small corpus may give fewer pieces).
    user_defined_symbols / control_symbols: SentencePiece user-defined (added,
        not special; turn markers are special as in Gemma) and control pieces (special).
    character_coverage: below 1.0 leaves rare characters out of the vocabulary,
        so they go through byte fallback.
    rename_bytes: byte values (ints) whose <0xNN> pieces are renamed in the
        saved tokenizer.json (to "<no_byte_NN>"), so a character that needs
        such a byte has no byte fallback and becomes <unk>, as in the Rust
        `tokenizers` BPE (it checks that every byte token exists).
    merges_as_strings: write the merges in the older "a b" string form instead
        of [a, b] pairs (both are read by `tokenizers`).
    ignore_merges: when not None, set model.ignore_merges (a word that is a
        whole vocabulary entry is one token without applying merges).
    added_tokens: extra tokens added with tokenizer.add_tokens after the
        conversion, each a dict of tokenizers.AddedToken arguments
        (content, special, normalized, single_word, lstrip, rstrip).
    add_eos_token: GemmaTokenizerFast's add_eos_token (the post-processor then
        appends <eos>; tokenizer_config.json records it).
    kind: "gemma" (GemmaTokenizerFast, the SANA text encoder's tokenizer) or
        "llama" (LlamaTokenizerFast from the same SentencePiece model: a
        Prepend+Replace normalizer when legacy, a Metaspace pre-tokenizer when not).
    add_dummy_prefix: SentencePiece's option (False for Gemma); the Llama
        conversion turns it into the Prepend("▁") / prepend_scheme "first".
    Returns outdir.
    """
    import sentencepiece as spm
    from tokenizers import AddedToken
    from transformers import GemmaTokenizerFast, LlamaTokenizerFast

    if user_defined_symbols is None:
        user_defined_symbols = DEFAULT_USER_SYMBOLS
    if control_symbols is None:
        control_symbols = DEFAULT_CONTROL_SYMBOLS
    os.makedirs(outdir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        lines = [l for l in corpus_text.split("\n") if l.strip()]
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=model,
            model_type="bpe",
            vocab_size=vocab_size,
            hard_vocab_limit=False,
            byte_fallback=True,
            # Gemma's trainer settings (see GemmaConverter's docstring in transformers)
            split_by_unicode_script=True,
            split_by_number=True,
            split_by_whitespace=True,
            treat_whitespace_as_suffix=False,
            allow_whitespace_only_pieces=True,
            split_digits=True,
            add_dummy_prefix=add_dummy_prefix,
            remove_extra_whitespaces=False,
            normalization_rule_name="identity",
            character_coverage=character_coverage,
            pad_id=0, eos_id=1, bos_id=2, unk_id=3,
            pad_piece=PAD, eos_piece=EOS, bos_piece=BOS, unk_piece=UNK,
            user_defined_symbols=user_defined_symbols,
            control_symbols=control_symbols,
            num_threads=1,
            minloglevel=2,
        )
        spm_path = os.path.join(tmp, "tokenizer.model")
        with open(spm_path, "wb") as f:
            f.write(model.getvalue())
        # from_slow: GemmaConverter builds the tokenizers JSON from the SentencePiece proto
        if kind == "gemma":
            fast = GemmaTokenizerFast(vocab_file=spm_path, from_slow=True, add_eos_token=add_eos_token)
        elif kind == "llama":
            fast = LlamaTokenizerFast(vocab_file=spm_path, from_slow=True, legacy=legacy,
                                      add_eos_token=add_eos_token, unk_token=UNK, bos_token=BOS,
                                      eos_token=EOS, pad_token=PAD, add_prefix_space=add_dummy_prefix)
        else:
            raise ValueError("kind must be gemma or llama")
        if added_tokens:
            fast.add_tokens([AddedToken(**a) for a in added_tokens])
        fast.model_max_length = model_max_length
        fast.save_pretrained(outdir)
    # Only the fast tokenizer files are part of the published layout we read.
    sp_copy = os.path.join(outdir, "tokenizer.model")
    if os.path.exists(sp_copy):
        os.remove(sp_copy)
    if kind == "llama":
        # add_prefix_space in the config would make transformers rebuild from tokenizer.model (removed):
        # the behaviour is in tokenizer.json already, as in published Llama folders
        cpath = os.path.join(outdir, "tokenizer_config.json")
        with open(cpath, encoding="utf-8") as f:
            cfg = json.load(f)
        cfg.pop("add_prefix_space", None)
        with open(cpath, "w", encoding="utf-8") as f:
            json.dump(cfg, f, ensure_ascii=False, indent=2)
    if rename_bytes or merges_as_strings or ignore_merges is not None:
        # Variants of the published file, each a documented option of the format.
        path = os.path.join(outdir, "tokenizer.json")
        with open(path, encoding="utf-8") as f:
            tj = json.load(f)
        m = tj["model"]
        if rename_bytes:
            ren = {"<0x%02X>" % b: "<no_byte_%02X>" % b for b in rename_bytes}
            m["vocab"] = {ren.get(k, k): v for k, v in m["vocab"].items()}
            # merges never involve byte pieces (SentencePiece never merges them)
        if merges_as_strings:
            assert all(" " not in a and " " not in b for a, b in m["merges"])
            m["merges"] = ["%s %s" % (a, b) for a, b in m["merges"]]
        if ignore_merges is not None:
            m["ignore_merges"] = bool(ignore_merges)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False, indent=2)
    return outdir


def _main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("corpus", help="UTF-8 text file to train on")
    ap.add_argument("--vocab-size", type=int, default=600)
    a = ap.parse_args()
    with open(a.corpus, encoding="utf-8") as f:
        make_tokenizer(a.outdir, f.read(), a.vocab_size)


if __name__ == "__main__":
    _main()
