"""train/analysis.py -- the image analysis of the semantic test, in Python; tests/test-semantic.c
does the same steps in C (same constants, same order), so both print the same accuracy.

    background  the mean colour of the border pixels (a BORDER-pixel frame), named by the nearest
                colour of dataset.COLOURS
    shape       the pixels inside the frame whose colour is farther than FAR from that mean (the
                frame is left out: decoders leave thin lines at the image edges); fewer than
                MIN_FRAC of the image: no shape
    colour      the mean colour of the shape pixels, named by the nearest colour
    position    the centroid of the shape pixels, named by the nearest POSITIONS centre
    kind        over the bounding box of the rows and columns holding at least LINE_MIN shape pixels:
                triangle when its upper half holds less than TOP_HEAVY times the pixels of its lower
                half (a triangle pointing up: 1/3), else square when fill = shape pixels / box area is
                above FILL_SQUARE (square ~1.0, circle ~0.785)
"""
import numpy as np

from dataset import COLOURS, POSITIONS

BORDER = 8
FAR = 60.0
MIN_FRAC = 0.01
LINE_MIN = 4
TOP_HEAVY = 0.7
FILL_SQUARE = 0.88


def nearest_colour(rgb):
    d = [sum((float(rgb[k]) - c[k]) ** 2 for k in range(3)) for _, c in COLOURS]
    return COLOURS[int(np.argmin(d))][0]


def analyse(img):
    """img: uint8 [H, W, 3] -> dict(background, colour, position, shape)."""
    H, W, _ = img.shape
    x = img.astype(np.float64)
    frame = np.zeros((H, W), bool)
    frame[:BORDER], frame[-BORDER:], frame[:, :BORDER], frame[:, -BORDER:] = True, True, True, True
    bg = x[frame].mean(0)
    far = (((x - bg) ** 2).sum(-1) > FAR * FAR) & ~frame
    n = int(far.sum())
    out = dict(background=nearest_colour(bg), colour="none", position="none", shape="none")
    if n < MIN_FRAC * H * W:
        return out
    ys, xs = np.nonzero(far)
    out["colour"] = nearest_colour(x[far].mean(0))
    cx, cy = (xs.mean() + 0.5) / W, (ys.mean() + 0.5) / H
    d = {p: (cx - px) ** 2 + (cy - py) ** 2 for p, (_, (px, py)) in POSITIONS.items()}
    out["position"] = min(d, key=d.get)
    rows = np.nonzero(far.sum(1) >= LINE_MIN)[0]
    cols = np.nonzero(far.sum(0) >= LINE_MIN)[0]
    if len(rows) and len(cols):
        fill = n / float((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1))
        upper = int((ys < (rows[0] + rows[-1]) / 2.0).sum())
        out["fill"], out["top"] = fill, upper / max(1, n - upper)
        out["shape"] = "triangle" if out["top"] < TOP_HEAVY else "square" if fill > FILL_SQUARE else "circle"
    return out


def correct(res, want):
    """want: a row of dataset.read_heldout(). All four attributes must match."""
    return all(res[k] == want[k] for k in ("background", "colour", "position", "shape"))
