"""The many-writers training mix and the validation sets that choose among its models.

Training draws on every set whose licence allows a shipped model to learn from it; the sets that
choose the model are writers it never saw: MNIST's held-out training digits, USPS test, optdigits
test (other writers), ARDIS IV test (never trained on) and the ORAND validation strings' digits.
"""
from typing import NamedTuple

import numpy as np

from handwriting.engine import model_io
from handwriting.training import composition, datasets

NOT_DIGITS = 7  # one "not one digit" crop per this many digits of the non-MNIST sets
SERVED_MNIST = 0.5  # share of MNIST digits shown as the engine serves them, the rest as published
ORAND_REPEAT = 8  # real cheque digits are few (3,768) beside 55,000 MNIST ones: each is seen this often
# (at 4, ORAND validation digits were the weakest set, 96.1 %)


VALIDATION_NAMES = {
    "usps": "usps test", "optdigits": "optdigits test (other writers)", "ardis": "ardis iv test",
    "orand": "orand validation digits",
}


class Mix(NamedTuple):
    x: np.ndarray
    y: np.ndarray
    sources: dict  # set name -> distinct training images taken from it
    splits: dict  # set name -> (x, y) of its training digits as loaded, in the order of `sets`


def training_mix(mnist_train, root, sets, seed, orand_repeat=ORAND_REPEAT):
    """Digits of `sets` as served, plus "not one digit" crops; `mnist_train` is (x, y) already split."""
    rng = np.random.default_rng(seed)
    xs, ys, sources, splits = [], [], {}, {}
    if "mnist" in sets:
        splits["mnist"] = mnist_train
        x, y = mnist_train
        served = rng.random(len(x)) < SERVED_MNIST
        x = x.copy()
        x[served] = composition.as_served(x[served])
        xs.append(x)
        ys.append(y)
        sources["mnist"] = len(x)
    others = []
    for name in sets:
        if name == "mnist":
            continue
        split = datasets.LOADERS[name](root)
        repeat = orand_repeat if name == "orand" else 1
        xs.append(np.tile(split.x_train, (repeat, 1, 1)))
        ys.append(np.tile(split.y_train, repeat))
        others.append(split.x_train)
        sources[name] = len(split.x_train)
        splits[name] = (split.x_train, split.y_train)
    pool = np.concatenate(others) if others else xs[0]
    rejects = composition.not_digits(pool, max(1, len(pool) // NOT_DIGITS), seed)
    sources["not one digit (composed)"] = len(rejects)
    x = np.concatenate([*xs, rejects])
    y = np.concatenate([*ys, np.full(len(rejects), model_io.NOT_A_DIGIT, np.uint8)]).astype(np.int32)
    return Mix(x, y, sources, splits)


def validation_sets(mnist_held, root, sets=("usps", "optdigits", "ardis", "orand")):
    """{name: (x, y)} of the writers that choose the model; none of them is ever trained on."""
    x, y = mnist_held
    chosen = {"mnist (held-out train)": (composition.as_served(x), y)}
    for name in sets:
        split = datasets.LOADERS[name](root)
        chosen[VALIDATION_NAMES[name]] = (split.x_test, split.y_test)
    return chosen


def accuracies(model, sets):
    """{name: accuracy} of a Keras digit model on each validation set."""
    return {
        name: float((model_io.digit_probabilities(model.predict(model_io.to_batch(x), batch_size=1000, verbose=0))
                     .argmax(1) == y).mean())
        for name, (x, y) in sets.items()
    }
