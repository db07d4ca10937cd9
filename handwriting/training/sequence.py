"""Train the line reader (a CRNN read out by CTC): `python -m handwriting.training.sequence` (see --help).

It learns from composed digit strings (training/strings.py) and jittered ORAND-CAR-A training
strings, a fixed number of steps from a seed, so that a run can be repeated. A seeded tenth of the
ORAND training strings, never trained on, chooses the checkpoint; the ORAND validation strings are
never touched here. Every image reaches the model through handwriting.engine.sequence.to_input, the
conversion the engine reads with.
"""
import datetime
import os
import time
from pathlib import Path

import numpy as np

from handwriting import cli, config
from handwriting.engine import model_io, sequence
from handwriting.training import export, starting

CLASSES = 11  # CTC blank, then the ten digits
MAX_DIGITS = 8  # longest label a batch holds: composed lines have 1-8 digits, ORAND's at most 7
REAL_SHARE = 12 / 32  # of each batch, real ORAND strings; the rest composed lines
PEAK_RATE = 1e-3  # Adam's rate after warm-up
WARMUP_STEPS = 200  # steps of linear warm-up: CTC diverges when a new model starts at the peak
FINAL_RATE = 0.02  # share of the peak the cosine decay ends at
CLIP_NORM = 5.0  # gradient clipping: CTC's early gradients spike
CHECK_EVERY = 300  # steps between selection checks
CHECK_LINES = 300  # composed lines scored with the selection, only to break its ties
CHECK_SEED = 10_000  # their seeds, apart from any training seed
TIE_BREAK = 0.001  # weight of the composed lines' accuracy against the selection's


def build():
    """Five convolution blocks that leave (2, 40) of the (32, 160) input, a dense layer per step and a
    bidirectional LSTM, then 11 logits for each of sequence.STEPS steps."""
    import keras
    from keras import layers

    inputs = keras.Input((sequence.HEIGHT, sequence.WIDTH, 1), name="line")
    x = inputs
    for filters, pool in ((32, (2, 2)), (64, (2, 2)), (96, None), (96, (2, 1)), (128, (2, 1))):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        if pool:
            x = layers.MaxPooling2D(pool)(x)
    x = layers.Permute((2, 1, 3))(x)
    x = layers.Reshape((sequence.STEPS, 2 * 128))(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    return keras.Model(inputs, layers.Dense(CLASSES, name="logits")(x), name="crnn")


def parse_args(argv=None):
    parser = cli.Parser(prog="python -m handwriting.training.sequence", description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--steps", type=cli.at_least(1), default=8000, help="training steps (default: %(default)s)")
    add("--batch-size", type=cli.at_least(1), default=32, help="lines per step (default: %(default)s)")
    add("--seed", type=int, default=1, help="seeds the weights and every line drawn (default: %(default)s)")
    add("--learning-rate", type=float, default=PEAK_RATE, metavar="RATE",
        help="peak learning rate (default: %(default)s)")
    add("--init", type=Path, metavar="MODEL.keras",
        help="go on training this line reader instead of a new one (with another --seed, it sees new lines)")
    add("--out", type=Path, default=config.ROOT / "models" / "lines" / "line_crnn.keras", help="default: %(default)s")
    add("--force", action="store_true", help="replace --out when it exists")
    add("--data-root", type=Path, default=config.settings().data_root,
        help="folder of the digit sets (default: $HANDWRITING_DATA, else ../shared/data)")
    add("--data", help="Keras-layout mnist.npz (default: $HANDWRITING_MNIST, else Keras' download)")
    args = parser.parse_args(argv)
    cli.check_model_out(parser, args.out, args.force)
    return args


def as_batch(images):
    return np.stack([sequence.to_input(image)[0] for image in images])[..., None]


def encode(labels):
    """Digit strings as CTC targets: digit k is class k + 1, padded with the blank."""
    targets = np.zeros((len(labels), MAX_DIGITS), np.int32)
    for row, label in enumerate(labels):
        targets[row, : len(label)] = [int(digit) + 1 for digit in label]
    return targets


def draw_batch(rng, fit, sources, size):
    """`size` lines: jittered real strings first, then composed ones."""
    from handwriting.training import strings

    lines = []
    for _ in range(round(size * REAL_SHARE)):
        string = fit[rng.integers(len(fit))]
        lines.append((strings.augment_real(rng, string.image), string.label))
    lines += [strings.render(rng, sources)[:2] for _ in range(size - len(lines))]
    images, labels = zip(*lines)
    return as_batch(images), encode(labels)


def accuracy(model, inputs, labels):
    """Share of lines whose greedy CTC reading is exactly the label."""
    logits = model.predict(inputs, batch_size=64, verbose=0)
    probabilities = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    texts = [sequence.decode(p, sequence.WIDTH, sequence.WIDTH).text for p in probabilities]
    return float(np.mean([text == label for text, label in zip(texts, labels)]))


def rate(step, steps, peak=PEAK_RATE):
    """Linear warm-up, then cosine decay to FINAL_RATE of the peak at the last step."""
    warm = min(1.0, (step + 1) / WARMUP_STEPS)
    return peak * warm * (FINAL_RATE + (1 - FINAL_RATE) * 0.5 * (1 + np.cos(np.pi * step / steps)))


class Checks:
    """The selection strings and the composed tie-breakers, ready as model input."""

    def __init__(self, selection, sources):
        from handwriting.training import strings

        composed = [strings.render(np.random.default_rng(CHECK_SEED + i), sources) for i in range(CHECK_LINES)]
        self.selection = (as_batch([s.image for s in selection]), [s.label for s in selection])
        self.composed = (as_batch([line.image for line in composed]), [line.label for line in composed])

    def score(self, model):
        """(selection accuracy, composed-line accuracy)."""
        return accuracy(model, *self.selection), accuracy(model, *self.composed)


def fit(model, args, data, partial):
    """Train args.steps steps, checking every CHECK_EVERY and at the end; the best model so far is
    saved to `partial`. Returns (best step, its scores, seconds)."""
    import keras

    fit_strings, sources, checks = data
    optimizer = keras.optimizers.Adam(args.learning_rate, clipnorm=CLIP_NORM)
    model.compile(optimizer=optimizer, loss=keras.losses.CTC())
    rng, best, started = np.random.default_rng(args.seed), (-1.0, 0, None), time.monotonic()
    if args.init:  # the model gone on from is the one to beat: step 0
        scores = checks.score(model)
        model.save(partial)
        best = (scores[0] + TIE_BREAK * scores[1], 0, scores)
        print(f"step 0  selection {scores[0]:.3f}  composed {scores[1]:.3f}", flush=True)
    for step in range(1, args.steps + 1):
        optimizer.learning_rate.assign(rate(step - 1, args.steps, args.learning_rate))
        loss = model.train_on_batch(*draw_batch(rng, fit_strings, sources, args.batch_size))
        if step % CHECK_EVERY and step != args.steps:
            continue
        scores = checks.score(model)
        score = scores[0] + TIE_BREAK * scores[1]
        better = score > best[0] or (step == args.steps and score == best[0])  # a tie goes to the last
        if better:
            model.save(partial)
            best = (score, step, scores)
        print(f"step {step}/{args.steps}  loss {float(loss):.3f}  selection {scores[0]:.3f}  composed {scores[1]:.3f}"
              f"{'  (kept)' if better else ''}  {(time.monotonic() - started) / 60:.1f} min", flush=True)
    return best[1], best[2], time.monotonic() - started


def metadata(args, model, sources, strings, run):
    """The model card: what it learned from, with licences, and how it was chosen. `strings` is (ORAND
    strings trained on, selection strings); `run` is (best step, (selection, composed accuracy), seconds)."""
    from handwriting.training import datasets
    from handwriting.training.train import versions

    best_step, (chosen, composed), seconds = run
    parts = {"mnist": "training images (never the test set)", "optdigits": "training writers",
             "swiss": "all but the suspect labels",
             "orand": "digits boxed in the training strings, less the 20 % validation and the selection split"}
    learned = [{"set": name, "digits": len(sources[name][0]), "part": parts[name], "licence": datasets.LICENCES[name]}
               for name in sources]
    learned.append({"set": "orand strings", "strings": strings[0], "part": "the same training strings whole, jittered",
                    "licence": datasets.LICENCES["orand"]})
    return {
        "name": args.out.stem, "arch": "crnn_ctc", "params": int(model.count_params()),
        "input": "(32, 160, 1) float32 from handwriting.engine.sequence.to_input: ink light, paper 0",
        "output": f"{sequence.STEPS} steps x {CLASSES} logits: CTC blank 0, digit k is class k + 1",
        "trained_on": learned, "steps": args.steps, "best_step": best_step, "batch_size": args.batch_size,
        "seed": args.seed, "learning_rate": args.learning_rate,
        "initialised_from": args.init.name if args.init else None,
        "selection": {"strings": strings[1], "accuracy": round(chosen, 4),
                      "rule": f"ORAND training strings, share {datasets.ORAND_SELECTION} by sha256 of "
                              f"'{datasets.ORAND_SELECTION_SEED}:id'"},
        "composed_accuracy": round(composed, 4), "train_seconds": round(seconds, 1), "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "versions": versions(),
    }


def load_data(args):
    """(strings to train on, the selection strings, digit sources); a missing file is a refusal."""
    from handwriting.training import data, datasets, strings

    try:
        mnist = data.load(args.data)
        train, _validation = datasets.orand_strings(args.data_root)  # validation: never trained or tuned on
        held = datasets.orand_selection_ids([s.image_id for s in train])
        fit_strings = [s for s in train if s.image_id not in held]
        sources = strings.digit_sources((mnist.x_train, mnist.y_train), args.data_root, fit_strings)
    except (data.DataError, FileNotFoundError) as error:
        cli.fail(str(error))
    return fit_strings, [s for s in train if s.image_id in held], sources


def main(argv=None):
    args = parse_args(argv)
    cli.check_writable(args.out)
    fit_strings, selection, sources = load_data(args)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    model = starting.load(args.init) if args.init else build()
    print(f"line reader: {model.count_params():,} parameters; {len(fit_strings)} ORAND strings to train on, "
          f"{len(selection)} to choose by; {args.steps} steps of {args.batch_size}", flush=True)
    partial = model_io.partial_path(args.out)
    run = fit(model, args, (fit_strings, sources, Checks(selection, sources)), partial)
    meta = metadata(args, model, sources, (len(fit_strings), len(selection)), run)
    export.publish(partial, args.out, meta)  # the kept step's weights, not the last step's in `model`
    print(f"saved {args.out}: step {run[0]}, selection {run[1][0]:.3f}, {run[2] / 60:.1f} min")


if __name__ == "__main__":
    main()
