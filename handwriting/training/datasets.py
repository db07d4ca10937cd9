"""Digit sets beyond MNIST, each brought to the crops the engine serves the model.

Every loader returns uint8 images (N, 28, 28), light ink on black, normalised by the engine's own
`to_mnist` (longest side 20 px, centre of mass in the middle, strokes at MNIST width, grey edges),
so that a set's scan resolution, polarity and framing do not become something the model learns.
"""
import hashlib
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from handwriting import config
from handwriting.engine.normalisation import to_mnist
from handwriting.training.composition import SERVED_HEIGHT, as_served, served_ink

ORAND_VALIDATION = 0.2  # share of ORAND-CAR-A strings that nothing is ever trained or tuned on
ORAND_SEED = 2014  # fixes which strings those are, for this issue and every later model
ORAND_SELECTION = 0.10  # share of the other ORAND strings held out to choose the line reader's checkpoint
ORAND_SELECTION_SEED = 31  # fixes which ones; the shipped line reader was chosen on this split

FILES = {
    "mnist": "mnist.npz",  # loaded by training/data.py; named here for the benches that find it by the root
    "usps": "usps/usps.npz",
    "semeion": "semeion/semeion.npz",
    "optdigits": "optdigits/optdigits_32x32.npz",
    "swiss": "swiss_numbers_16px/swiss_numbers_16px.npz",
    "ardis": "ardis_iv/ardis_iv.npz",
    "orand": "orand_car_a/orand_car_a_train.npz",
}
LICENCES = {
    "mnist": "MNIST (LeCun, Cortes, Burges): CC BY-SA 3.0",
    "usps": "USPS (Hull 1994; Le Cun et al. 1990): no licence stated, research data",
    "semeion": "Semeion (Tattile / Semeion Research Center): donated for ML research, UCI lists CC BY 4.0",
    "optdigits": "UCI optdigits (Alpaydin, Kaynak): UCI lists CC BY 4.0",
    "swiss": "kensanata/numbers (Alex Schroeder): MIT",
    "ardis": "ARDIS IV: research only, no redistribution -- validation only, never trained on",
    "orand": "ORAND-CAR-A (ORAND S.A., HDSRC 2014), boxes by Fzkuji (MIT): research data, no image licence stated",
}


def default_root():
    return Path(config.settings().data_root)


class Split(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _path(root, name):
    path = Path(root) / FILES[name]
    if not path.is_file():
        raise FileNotFoundError(f"{name} data not found: {path}")
    return path


def usps(root):
    with np.load(_path(root, "usps")) as d:
        return Split(as_served(d["x_train"]), d["y_train"], as_served(d["x_test"]), d["y_test"])


def optdigits(root):
    """Train holds 30 writers; test 13 others, the split that says something about new writers."""
    with np.load(_path(root, "optdigits")) as d:
        return Split(as_served(d["x_train"]), d["y_train"], as_served(d["x_test"]), d["y_test"])


def ardis(root):
    """Validation only: ARDIS IV's licence forbids redistributing a model trained on it."""
    with np.load(_path(root, "ardis")) as d:
        return Split(as_served(d["x_train"]), d["y_train"], as_served(d["x_test"]), d["y_test"])


def semeion(root):
    """One set with no published split: all of it trains."""
    with np.load(_path(root, "semeion")) as d:
        x, y = as_served(d["x"]), d["y"]
    return Split(x, y, x[:0], y[:0])


def swiss(root):
    """Dark ink on white, off-centre in its cells; the suspect labels are dropped, all else trains."""
    with np.load(_path(root, "swiss")) as d:
        keep = ~d["label_suspect"]
        x, y = as_served(255 - d["x"][keep]), d["y"][keep]
    return Split(x, y, x[:0], y[:0])


def orand_validation_ids(ids, share=ORAND_VALIDATION, seed=ORAND_SEED):
    """A fixed share of strings by image id, the same whatever order or subset the file holds."""
    def draw(image_id):
        digest = hashlib.sha256(f"{seed}:{image_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    return {image_id for image_id in ids if draw(str(image_id)) < share}


def orand_selection_ids(ids):
    """The line reader's selection split of ORAND's training strings (never its training data), by
    the same draw as the validation split's."""
    return orand_validation_ids(ids, ORAND_SELECTION, ORAND_SELECTION_SEED)


class OrandString(NamedTuple):
    image_id: str
    image: np.ndarray  # grey, dark ink on light paper
    label: str
    boxes: np.ndarray  # (digits, 4) x, y, w, h, left to right


def orand_strings(root):
    """Every ORAND-CAR-A string with its digit boxes, split into (train, validation)."""
    with np.load(_path(root, "orand")) as d:
        flat, offsets, hw = d["images"], d["image_offsets"], d["image_hw"]
        boxes, box_offsets = d["boxes"], d["box_offsets"]
        strings = [
            OrandString(str(d["image_ids"][i]), flat[offsets[i]: offsets[i + 1]].reshape(hw[i]), str(d["labels"][i]),
                        boxes[box_offsets[i]: box_offsets[i + 1]])
            for i in range(len(hw))
        ]
    held = orand_validation_ids([s.image_id for s in strings])
    return [s for s in strings if s.image_id not in held], [s for s in strings if s.image_id in held]


def paper_contrast(grey):
    """Ink strength against the paper around it: a closing wider than a stroke lifts the ink out of
    the security background."""
    size = max(3, grey.shape[0] // 6) | 1
    paper = cv2.morphologyEx(grey, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return cv2.subtract(paper, grey)


def orand_digits(strings):
    """Each boxed digit cut out of its string as served: ink against the paper, upscaled, normalised."""
    crops, labels = [], []
    for s in strings:
        strength = paper_contrast(s.image)
        for (x, y, w, h), digit in zip(s.boxes, s.label):
            cut = strength[y: y + h, x: x + w]
            scale = SERVED_HEIGHT / max(h, 1)
            big = cv2.resize(cut, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            crops.append(to_mnist(served_ink(big)))
            labels.append(int(digit))
    return np.array(crops, np.uint8).reshape(-1, 28, 28), np.array(labels, np.uint8)


def orand(root):
    train, validation = orand_strings(root)
    return Split(*orand_digits(train), *orand_digits(validation))


LOADERS = {"usps": usps, "semeion": semeion, "optdigits": optdigits, "swiss": swiss,
           "orand": orand, "ardis": ardis}
TRAINABLE = ("mnist", "usps", "semeion", "optdigits", "swiss", "orand")
