"""Training crops as the engine cuts them from whole pages (issue #16, "train on what the engine serves").

A digit the engine serves has been drawn with some pen on some paper, photographed, found, cut from
its neighbours and normalised; a single digit normalised in isolation has been through none of it.
Pages are composed by the stress generator (every upright condition in turn) from TRAINING digits
only, read by the engine as it reads uploads, and each crop of a reading with as many digits, and
lines, as the page is labelled with the digit written at its place.
"""
import multiprocessing
from pathlib import Path

import numpy as np


PAGE_SEED = 10_000  # page streams far from the benchmark's seeds (0-2) and the calibration's (0, 1)
CHUNK = 50  # pages per task handed to a worker process
SOURCE = "engine-cut crops of composed pages"  # the model card's name for them


def training_digits(splits):
    """The stress generator's Digits from {set name: (x, y)} of training digits (mix.Mix.splits),
    one population per set, so that a page is written by one kind of writer."""
    from handwriting.pages.stress import Digits

    parts = list(splits.items())
    return Digits(
        np.concatenate([x for _, (x, _) in parts]).astype(np.uint8),
        np.concatenate([y for _, (_, y) in parts]).astype(np.uint8),
        np.concatenate([np.full(len(y), i, np.uint8) for i, (_, (_, y)) in enumerate(parts)]),
        tuple(name for name, _ in parts),
    )


def page_plan(pages, seed):
    """(condition, page seed, index) of each page: the upright conditions in turn."""
    from handwriting.pages import stress

    upright = [c for c in stress.CONDITIONS if c not in stress.TURNED]
    return [(upright[i % len(upright)], PAGE_SEED + seed, i // len(upright)) for i in range(pages)]


def labelled_crops(reading, expected):
    """(crops, labels) of one reading, or empty ones when its digits or lines differ in number from
    the page's, where which crop holds which digit is not known."""
    digits = reading.found
    if len(digits) != len(expected.replace("\n", "")) or reading.digits_text.count("\n") != expected.count("\n"):
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
    return np.array([d.crop for d in digits], np.uint8), np.array([int(c) for c in expected if c != "\n"], np.uint8)


_worker = {}


def _start(model_path, digits):
    from handwriting.engine.recognition import Recognizer

    _worker["engine"], _worker["digits"] = Recognizer(model_path), digits


def _read(plan):
    from handwriting.pages import stress

    engine, digits = _worker["engine"], _worker["digits"]
    crops, labels = [np.zeros((0, 28, 28), np.uint8)], [np.zeros(0, np.uint8)]
    for condition, seed, index in plan:
        sample = stress.generate(condition, digits, seed, index)
        x, y = labelled_crops(engine.read_upright(sample.image_bytes).reading, sample.expected)
        crops.append(x)
        labels.append(y)
    return np.concatenate(crops), np.concatenate(labels)


def served_crops(model_path, digits, pages, seed, workers=2):
    """(crops, labels) cut by the engine (with the model at `model_path`) from `pages` composed pages,
    read upright in `workers` processes; the same arguments give the same crops."""
    plan = page_plan(pages, seed)
    chunks = [plan[i: i + CHUNK] for i in range(0, len(plan), CHUNK)]
    context = multiprocessing.get_context("spawn")  # a forked TensorFlow would hang
    with context.Pool(workers, _start, (Path(model_path), digits)) as pool:
        parts = pool.map(_read, chunks)
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])
