"""Make the sample images the README's examples read: `python -m scripts.make_samples [--mnist PATH]`.

Both are composed from MNIST test digits (CC BY-SA 3.0, Yann LeCun, Corinna Cortes and Christopher
J. C. Burges), so they are shared under the same licence, and made the same way on every run:
- samples/digits.png: the first six digits of the MNIST test set, 721041, on one line;
- samples/numbers.png: 12.50 over -42, the first test example of each digit, with a pen-drawn
  decimal point and minus sign.
"""
import argparse

import cv2
import numpy as np
from PIL import Image

from handwriting import config
from handwriting.training import data

FOLDER = config.ROOT / "samples"
SCALE = 3  # MNIST's 28 px digits drawn 84 px tall, about a pen's size in a phone photo of a page
GAP = 10  # px between two digits of a number, at SCALE
MARGIN = 40  # px of paper around the writing
INK = 20  # grey of the drawn separators, as dark as MNIST's strokes


def glyph(image):
    """An MNIST digit as dark ink on white paper, SCALE times larger, cropped to its ink's columns."""
    big = cv2.resize(255 - image, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_LINEAR)
    columns = np.flatnonzero(big.min(axis=0) < 128)
    return big[:, columns[0]: columns[-1] + 1]


def separator(kind):
    """A decimal point (a dot on the baseline) or a minus sign (a short stroke at mid-height), as drawn."""
    height = 28 * SCALE
    tile = np.full((height, height // 2 if kind == "." else height // 2 + 10), 255, np.uint8)
    if kind == ".":
        cv2.circle(tile, (tile.shape[1] // 2, height - 18), 7, INK, -1, cv2.LINE_AA)
    else:
        cv2.line(tile, (6, height // 2), (tile.shape[1] - 6, height // 2 + 2), INK, 8, cv2.LINE_AA)
    return tile


def line(tiles):
    parts = []
    for tile in tiles:
        parts += [tile, np.full((tile.shape[0], GAP), 255, np.uint8)]
    return np.hstack(parts[:-1])


def page(lines):
    width = max(row.shape[1] for row in lines)
    rows = [np.pad(row, ((0, 0), (0, width - row.shape[1])), constant_values=255) for row in lines]
    spaced = [part for row in rows for part in (row, np.full((GAP * 3, width), 255, np.uint8))][:-1]
    return np.pad(np.vstack(spaced), MARGIN, constant_values=255)


def samples(mnist):
    """{file name: greyscale image} of every sample."""
    first = {label: mnist.x_test[int(np.flatnonzero(mnist.y_test == label)[0])] for label in range(10)}
    tile = lambda c: glyph(first[int(c)]) if c.isdigit() else separator(c)
    return {
        "digits.png": page([line([glyph(image) for image in mnist.x_test[:6]])]),
        "numbers.png": page([line([tile(c) for c in "12.50"]), line([tile(c) for c in "-42"])]),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m scripts.make_samples", description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", help="mnist.npz (default: $HANDWRITING_MNIST, else ../shared/data/mnist.npz)")
    args = parser.parse_args(argv)
    mnist = data.load(args.mnist or config.settings().mnist_path or config.ROOT.parent / "shared" / "data" / "mnist.npz")
    FOLDER.mkdir(exist_ok=True)
    for name, image in samples(mnist).items():
        Image.fromarray(image).save(FOLDER / name, optimize=True)
        print(FOLDER / name)


if __name__ == "__main__":
    main()
