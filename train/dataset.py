#!/usr/bin/env python3
"""train/dataset.py -- the synthetic "shapes" data set of golden/ckpt/sana-shapes, made by code.

A scene is a flat background colour with one or two flat shapes, drawn at 512x512 (the size SANA's
512 px checkpoints generate at, so `sana generate` runs it with every default), and a plain-English
caption:

    one object   "a red circle on a blue background"                   (no position word: center)
                 "a red circle on the left of a blue background"       (left, right, top, bottom, center)
    two objects  "a yellow square left of a green triangle on a black background"
                 (left of, right of, above, below)

Everything is drawn from a numpy Generator, so a seed gives the same scenes on every machine.
The held-out set is made of (colour, shape, background) triples that never occur in training, not
as a single object and not as either object of a two-object scene; every held-out triple's
(colour, background) pair is still seen with another shape, and every word is seen. HELDOUT_FILE
(train/heldout.txt) lists them with their position, one caption a line; tests/test-semantic.c and
train.py's evaluation read it.

    python3 train/dataset.py              writes train/heldout.txt and a contact sheet /tmp/shapes-sheet.png
"""
import os

import numpy as np
from PIL import Image, ImageDraw

SIZE = 512

# Named colours (RGB). The image analysis (analysis.py, tests/test-semantic.c) classifies colours by
# the nearest entry of this table, so keep it in the same order there.
COLOURS = [
    ("red", (220, 40, 40)),
    ("orange", (245, 140, 20)),
    ("yellow", (245, 220, 40)),
    ("green", (40, 170, 70)),
    ("blue", (40, 90, 230)),
    ("purple", (150, 60, 200)),
    ("white", (245, 245, 245)),
    ("black", (25, 25, 25)),
]
COLOUR_NAMES = [c for c, _ in COLOURS]
RGB = dict(COLOURS)
SHAPES = ["circle", "square", "triangle"]

# Position word -> (phrase in the caption, centre as a fraction of the image (x, y)).
POSITIONS = {
    "left": ("on the left of", (0.25, 0.50)),
    "right": ("on the right of", (0.75, 0.50)),
    "top": ("at the top of", (0.50, 0.25)),
    "bottom": ("at the bottom of", (0.50, 0.75)),
    "center": ("in the center of", (0.50, 0.50)),
}
POSITION_NAMES = list(POSITIONS)
# Two-object relations: phrase, and the centres of the first and second object.
RELATIONS = {
    "left of": ((0.27, 0.50), (0.73, 0.50)),
    "right of": ((0.73, 0.50), (0.27, 0.50)),
    "above": ((0.50, 0.27), (0.50, 0.73)),
    "below": ((0.50, 0.73), (0.50, 0.27)),
}

HERE = os.path.dirname(os.path.abspath(__file__))
HELDOUT_FILE = os.path.join(HERE, "heldout.txt")
HELDOUT_SEED = 1234
N_HELDOUT = 40


def a(word):
    """The article: "an orange circle", "a red circle"."""
    return ("an " if word[0] in "aeiou" else "a ") + word


def caption_single(colour, shape, position, background):
    """position None: no position word (the object is drawn in the center)."""
    if position is None:
        return f"{a(colour)} {shape} on {a(background)} background"
    return f"{a(colour)} {shape} {POSITIONS[position][0]} {a(background)} background"


def caption_pair(c1, s1, relation, c2, s2, background):
    return f"{a(c1)} {s1} {relation} {a(c2)} {s2} on {a(background)} background"


def heldout_triples():
    """The held-out (colour, shape, background, position) of the test, from a fixed seed:
    N_HELDOUT distinct (colour, background) pairs, each with one shape and one position;
    shapes and positions are dealt round-robin so each occurs about equally often."""
    rng = np.random.default_rng(HELDOUT_SEED)
    pairs = [(c, b) for c in COLOUR_NAMES for b in COLOUR_NAMES if c != b]
    order = rng.permutation(len(pairs))[:N_HELDOUT]
    shapes = [SHAPES[i % len(SHAPES)] for i in range(N_HELDOUT)]
    positions = [POSITION_NAMES[i % len(POSITION_NAMES)] for i in range(N_HELDOUT)]
    rng.shuffle(shapes)
    rng.shuffle(positions)
    return [(pairs[k][0], shapes[i], pairs[k][1], positions[i]) for i, k in enumerate(order)]


HELDOUT = heldout_triples()
HELDOUT_SET = {(c, s, b) for c, s, b, _ in HELDOUT}


def draw_shape(draw, shape, cx, cy, size, rgb):
    """A filled shape of width `size` (pixels) centred on its bounding box at (cx, cy)."""
    h = size / 2
    if shape == "circle":
        draw.ellipse([cx - h, cy - h, cx + h, cy + h], fill=rgb)
    elif shape == "square":
        draw.rectangle([cx - h, cy - h, cx + h, cy + h], fill=rgb)
    elif shape == "triangle":  # pointing up, equilateral: height = size * sqrt(3) / 2
        th = size * 0.866 / 2
        draw.polygon([(cx, cy - th), (cx - h, cy + th), (cx + h, cy + th)], fill=rgb)
    else:
        raise ValueError(shape)


def render(scene):
    """scene: dict(background=name, objects=[(colour, shape, (fx, fy), fsize), ...]) -> uint8 [H, W, 3]."""
    img = Image.new("RGB", (SIZE, SIZE), RGB[scene["background"]])
    d = ImageDraw.Draw(img)
    for colour, shape, (fx, fy), fsize in scene["objects"]:
        draw_shape(d, shape, fx * SIZE, fy * SIZE, fsize * SIZE, RGB[colour])
    return np.asarray(img, dtype=np.uint8)


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def random_scene(rng, p_pair=0.35, p_nopos=0.15):
    """One training scene and its caption; never a held-out triple."""
    while True:
        bg = _pick(rng, COLOUR_NAMES)
        if rng.random() < p_pair:
            c1, c2 = _pick(rng, COLOUR_NAMES), _pick(rng, COLOUR_NAMES)
            s1, s2 = _pick(rng, SHAPES), _pick(rng, SHAPES)
            if bg in (c1, c2) or c1 == c2:
                continue
            if (c1, s1, bg) in HELDOUT_SET or (c2, s2, bg) in HELDOUT_SET:
                continue
            rel = _pick(rng, list(RELATIONS))
            objs = []
            for (c, s), (fx, fy) in zip(((c1, s1), (c2, s2)), RELATIONS[rel]):
                jx, jy = rng.uniform(-0.03, 0.03, 2)
                objs.append((c, s, (fx + jx, fy + jy), rng.uniform(0.24, 0.30)))
            return dict(background=bg, objects=objs), caption_pair(c1, s1, rel, c2, s2, bg)
        c, s = _pick(rng, COLOUR_NAMES), _pick(rng, SHAPES)
        if c == bg or (c, s, bg) in HELDOUT_SET:
            continue
        pos = None if rng.random() < p_nopos else _pick(rng, POSITION_NAMES)
        fx, fy = POSITIONS[pos or "center"][1]
        jx, jy = rng.uniform(-0.03, 0.03, 2)
        scene = dict(background=bg, objects=[(c, s, (fx + jx, fy + jy), rng.uniform(0.30, 0.38))])
        return scene, caption_single(c, s, pos, bg)


def vocabulary_corpus():
    """Every caption word in every slot (for the tokenizer): one single and one pair caption per
    combination of colour and shape, over all backgrounds and positions."""
    lines = []
    for b in COLOUR_NAMES:
        for c in COLOUR_NAMES:
            for s in SHAPES:
                lines.append(caption_single(c, s, None, b))
                for p in POSITION_NAMES:
                    lines.append(caption_single(c, s, p, b))
                for r in RELATIONS:
                    lines.append(caption_pair(c, s, r, COLOUR_NAMES[(COLOUR_NAMES.index(c) + 1) % 8], s, b))
    return lines


def write_heldout(path=HELDOUT_FILE):
    with open(path, "w", encoding="utf-8") as f:
        f.write("# Held-out captions of golden/ckpt/sana-shapes (train/dataset.py; never seen in training).\n")
        f.write("# colour<TAB>shape<TAB>position<TAB>background<TAB>caption; caption i (from 0) is generated with seed i.\n")
        for c, s, b, p in HELDOUT:
            f.write(f"{c}\t{s}\t{p}\t{b}\t{caption_single(c, s, p, b)}\n")
    return path


def read_heldout(path=HELDOUT_FILE):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            c, s, p, b, cap = line.rstrip("\n").split("\t")
            rows.append(dict(colour=c, shape=s, position=p, background=b, caption=cap))
    return rows


if __name__ == "__main__":
    print(write_heldout(), len(HELDOUT), "held-out captions")
    rng = np.random.default_rng(0)
    tiles = []
    for i in range(16):
        scene, cap = random_scene(rng)
        print(cap)
        tiles.append(render(scene)[::4, ::4])
    sheet = np.concatenate([np.concatenate(tiles[r * 4:(r + 1) * 4], 1) for r in range(4)], 0)
    Image.fromarray(sheet).save("/tmp/shapes-sheet.png")
