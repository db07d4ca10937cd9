"""Training crops as the engine cuts them from whole pages (issue #16, "train on what the engine serves").

A digit the engine serves has been drawn with some pen on some paper, photographed, found, cut from
its neighbours and normalised; a single digit normalised in isolation has been through none of it.
Pages are composed by the stress generator (every upright condition in turn) from TRAINING digits
only and read by the engine as it reads uploads. Each crop is labelled by where it lies: the digit
whose box it matches, or "not one digit" where it holds no digit (a currency mark, a separator, a
stray stroke) or two of them (a merged pair), which the model must learn to refuse. Pages of marks
that hold no digit at all (pages/marks.py: scribbles, blots, hatching, shadows, letters) add the
marks the engine takes for digits there, every crop of them "not one digit". Real cheque amounts
(ORAND-CAR-A's training strings, whose digits have boxes) add the cheque digits as served: cut from
their neighbours among the security background and the rules they touch, which a digit cut out by
its box never shows.
"""
import multiprocessing
from collections import Counter
from pathlib import Path

import numpy as np

from handwriting.engine import model_io


PAGE_SEED = 10_000  # page streams far from the benchmark's seeds (0-2) and the calibration's (0, 1)
CHUNK = 50  # pages per task handed to a worker process
MATCH = 0.5  # a crop whose box and a digit's overlap by this share of their union holds that digit
APART = 0.1  # a crop covering under this share of every digit's box holds none
SOURCE = "engine-cut crops of composed pages"  # the model card's name for them ...
SOURCE_NOT_DIGITS = "engine-cut crops of composed pages: not one digit"  # ... and for those that hold no digit
SOURCE_MARKS = "engine-cut crops of pages of marks: not one digit"  # ... and for the pages that hold none
LICENCE_MARKS = "drawn here (pages/marks.py), from no outside data"  # what those pages owe to others
SOURCE_ORAND = "engine-cut crops of ORAND-CAR-A training amounts"  # the model card's name for them


def stress_digits(splits):
    """The stress generator's Digits from {set name: (x, y)}: training digits (mix.Mix.splits) for
    the crops, held-out ones for the calibration's pages; one population per set, so that a page is
    written by one kind of writer."""
    from handwriting.pages.stress import Digits

    parts = list(splits.items())
    return Digits(
        np.concatenate([x for _, (x, _) in parts]).astype(np.uint8),
        np.concatenate([y for _, (_, y) in parts]).astype(np.uint8),
        np.concatenate([np.full(len(y), i, np.uint8) for i, (_, (_, y)) in enumerate(parts)]),
        tuple(name for name, _ in parts),
    )


def upright_conditions():
    """The stress conditions pages may be composed under: all but the turned pages, which the
    engine turns upright before it cuts."""
    from handwriting.pages import stress

    return [c for c in stress.CONDITIONS if c not in stress.TURNED]


def page_plan(pages, seed, marks=0, conditions=None):
    """(kind of page, condition, page seed, index) of each page: `pages` stress pages, `conditions`
    (default: every upright one) in turn, then `marks` pages of marks, their kinds in turn."""
    from handwriting.pages import marks as mark_pages

    upright = list(conditions or upright_conditions())
    kinds = list(mark_pages.KINDS)
    return _in_turn("stress", upright, pages, seed) + _in_turn("marks", kinds, marks, seed)


def _in_turn(kind, names, pages, seed):
    """`pages` pages of `names` taken in turn, each page of a name numbered after its earlier ones,
    so that a name listed twice gets two different pages."""
    done = Counter()
    plan = []
    for i in range(pages):
        name = names[i % len(names)]
        plan.append((kind, name, PAGE_SEED + seed, done[name]))
        done[name] += 1
    return plan


def labelled_crops(reading, expected, boxes):
    """(crops, labels) of one reading of a page whose digits (`expected`, lines apart by "\\n") stand
    in `boxes` ([x, y, w, h] per digit, per line): a crop matching one digit's box is that digit;
    one covering no digit's box, or two of them, is not one digit; a piece of a digit, whose label
    is not known, is left out."""
    truth = np.array([box for line in boxes for box in line], float).reshape(-1, 4)
    digits = [int(c) for c in expected if c != "\n"]
    areas = truth[:, 2] * truth[:, 3]
    crops, labels = [], []
    for found in reading.found:
        box = found.box
        overlap_w = np.minimum(box.x + box.width, truth[:, 0] + truth[:, 2]) - np.maximum(box.x, truth[:, 0])
        overlap_h = np.minimum(box.y + box.height, truth[:, 1] + truth[:, 3]) - np.maximum(box.y, truth[:, 1])
        overlap = np.clip(overlap_w, 0, None) * np.clip(overlap_h, 0, None)
        match = overlap / (box.width * box.height + areas - overlap)
        covered = overlap / areas
        if len(truth) and match.max() >= MATCH:
            label = digits[int(match.argmax())]
        elif not len(truth) or covered.max() < APART or np.count_nonzero(covered >= MATCH) >= 2:
            label = model_io.NOT_A_DIGIT
        else:
            continue
        crops.append(found.crop)
        labels.append(label)
    return np.array(crops, np.uint8).reshape(-1, 28, 28), np.array(labels, np.uint8)


_worker = {}


def _start(model_path, digits):
    from handwriting.engine.recognition import Recognizer

    _worker["engine"], _worker["digits"] = Recognizer(model_path), digits


def _read(plan):
    from handwriting.pages import marks, stress

    engine, digits = _worker["engine"], _worker["digits"]
    crops, labels, on_marks = [np.zeros((0, 28, 28), np.uint8)], [np.zeros(0, np.uint8)], [np.zeros(0, bool)]
    for kind, condition, seed, index in plan:
        if kind == "marks":
            sample, expected, boxes = marks.generate(condition, seed, index), "", []
        else:
            sample = stress.generate(condition, digits, seed, index)
            expected, boxes = sample.expected, sample.meta["boxes"]
        x, y = labelled_crops(engine.read_upright(sample.image_bytes).reading, expected, boxes)
        crops.append(x)
        labels.append(y)
        on_marks.append(np.full(len(y), kind == "marks"))
    return np.concatenate(crops), np.concatenate(labels), np.concatenate(on_marks)


def served_crops(model_path, digits, pages, seed, workers=2, marks=0, conditions=None):
    """(crops, labels, from a page of marks) cut by the engine (with the model at `model_path`) from
    `pages` pages composed under `conditions` and `marks` pages of marks, read upright in `workers`
    processes; the same arguments give the same crops."""
    plan = page_plan(pages, seed, marks, conditions)
    chunks = [plan[i: i + CHUNK] for i in range(0, len(plan), CHUNK)]
    context = multiprocessing.get_context("spawn")  # a forked TensorFlow would hang
    with context.Pool(workers, _start, (Path(model_path), digits)) as pool:
        parts = pool.map(_read, chunks)
    return tuple(np.concatenate(part) for part in zip(*parts))


def orand_crops(model_path, strings):
    """(crops, labels) cut by the engine (with the model at `model_path`) from real cheque amounts
    (datasets.OrandString), labelled by each amount's digit boxes as a composed page's crops are."""
    from handwriting.engine.recognition import Recognizer
    from handwriting.pages.camera import png

    engine = Recognizer(Path(model_path))
    parts = [labelled_crops(engine.read_upright(png(s.image)).reading, s.label, [s.boxes.tolist()]) for s in strings]
    return (np.concatenate([np.zeros((0, 28, 28), np.uint8), *(x for x, _ in parts)]),
            np.concatenate([np.zeros(0, np.uint8), *(y for _, y in parts)]))
