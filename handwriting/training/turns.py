"""Train the turn judge: `python -m handwriting.training.turns` (see --help).

The digit model reads a digit turned over as another digit, often surely (a 7 as an L-shaped 5, a 6
as a 9), so its confidence cannot say that a page lies upside down or sideways. The turn judge is a
small CNN that learns only that: by how many quarter turns a crop, as the engine serves it, lies
turned from the way it was written. It learns from the training digits of every set the digit model
may learn from, each shown at a random quarter turn and distorted as the digit model's own are;
writers it never saw (the digit model's validation sets) choose the epoch. A 0, 1 or 8 looks alike
turned over, and the judge learns to say so: it answers near one half between those two turns.
"""
import datetime
import os
import time
from pathlib import Path

import numpy as np

from handwriting import cli, config
from handwriting.engine import model_io
from handwriting.training import export, starting

TURNS = 4  # class k: the crop lies turned k quarter turns counter-clockwise from as written
SYMMETRIC = (0, 1, 8)  # digits that look alike turned over: reported apart, not chosen on
FILTERS = (32, 64, 96)  # per convolution block
DENSE = 128  # units before the answer
PEAK_RATE = 1e-3  # Adam's rate where the cosine decay starts: a new judge's; lower to go on from one


def build():
    """Three small convolution blocks and one dense layer: position matters (a 6's loop is low, a
    turned 9's high), so the last map is flattened, not pooled away."""
    import keras
    from keras import layers

    inputs = keras.Input((*model_io.INPUT_SHAPE[:2], 1), name="crop")
    x = inputs
    for filters in FILTERS:
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(DENSE, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    return keras.Model(inputs, layers.Dense(TURNS, activation="softmax", name="turn")(x), name="turn_judge")


def every_turn(x):
    """Every crop (N, 28, 28) at each quarter turn counter-clockwise, (TURNS * N, 28, 28), with its turn as label."""
    turned = [np.rot90(x, k, axes=(1, 2)) for k in range(TURNS)]
    return np.ascontiguousarray(np.concatenate(turned)), np.repeat(np.arange(TURNS), len(x)).astype(np.int32)


def accuracy(predict, x, y):
    """{"all": ..., "asymmetric": ...}: how often `predict` tells the turn of each digit of `x` shown
    at every quarter turn, over all digits and over those that do not look alike turned over."""
    crops, turns = every_turn(x)
    digits = np.tile(y, TURNS)
    right = predict(crops).argmax(-1) == turns
    told = ~np.isin(digits, SYMMETRIC)
    return {"all": float(right.mean()), "asymmetric": float(right[told].mean())}


def dataset(x, batch_size, seed):
    """Shuffled, distorted batches; each digit at a quarter turn drawn anew each epoch."""
    import tensorflow as tf

    from handwriting.training.augment import augment

    def turn(images):
        turns = tf.random.uniform([tf.shape(images)[0]], 0, TURNS, tf.int32)
        choices = tf.stack([tf.image.rot90(images, k) for k in range(TURNS)], axis=1)
        return tf.gather(choices, turns, axis=1, batch_dims=1), turns

    ds = tf.data.Dataset.from_tensor_slices(x[..., None])
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    ds = ds.map(lambda a: turn(augment(tf.cast(a, tf.float32) / model_io.WHITE)), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def parse_args(argv=None):
    from handwriting.training import datasets

    parser = cli.Parser(prog="python -m handwriting.training.turns", description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--epochs", type=cli.at_least(1), default=4, help="passes over the training digits (default: %(default)s)")
    add("--batch-size", type=cli.at_least(1), default=256, help="crops per step (default: %(default)s)")
    add("--seed", type=int, default=0, help="seeds the split, the weights and every turn (default: %(default)s)")
    add("--learning-rate", type=float, default=PEAK_RATE, metavar="RATE", help="peak learning rate (default: %(default)s)")
    add("--init", type=Path, metavar="MODEL.keras",
        help="go on training this turn judge (trained with the same --seed) instead of a new one")
    add("--subset", type=cli.at_least(100), help="train on this many MNIST digits only (a quick check)")
    add("--sets", default=",".join(datasets.TRAINABLE), help="digit sets to learn from (default: %(default)s)")
    add("--out", type=Path, default=config.settings().turn_model_path, help="default: %(default)s")
    add("--force", action="store_true", help="replace --out when it exists")
    add("--data-root", type=Path, default=config.settings().data_root,
        help="folder of the digit sets (default: $HANDWRITING_DATA, else ../shared/data)")
    add("--data", help="Keras-layout mnist.npz (default: $HANDWRITING_MNIST, else Keras' download)")
    args = parser.parse_args(argv)
    args.sets = [name for name in args.sets.split(",") if name]
    refused = sorted(set(args.sets) - set(datasets.TRAINABLE))
    if refused or not args.sets:
        parser.error(f"--sets: choose from {', '.join(datasets.TRAINABLE)} (not {', '.join(refused) or 'none'})")
    cli.check_model_out(parser, args.out, args.force)
    starting.check_seed(parser, args.init, args.seed)
    return args


def load_data(args):
    """(training digits as served, their sources, the validation sets); a missing file is a refusal."""
    from handwriting.training import data, mix, train

    try:
        mnist = data.load(args.data)
        fit_digits, held = train.split(mnist, args.seed, args.subset)
        chosen = mix.training_mix(fit_digits, args.data_root, args.sets, args.seed)
        validation = mix.validation_sets(held, args.data_root)
    except (data.DataError, FileNotFoundError) as error:
        cli.fail(str(error))
    digits = chosen.y != model_io.NOT_A_DIGIT  # a crop that is no digit has no way up to learn
    sources = {name: count for name, count in chosen.sources.items() if name in args.sets}
    return chosen.x[digits], sources, validation


def fit(model, args, x, validation, partial):
    """Train, keeping the epoch whose mean accuracy over the validation sets' asymmetric digits is
    best; returns (epoch, {set: accuracy}, seconds)."""
    import keras

    steps = -(-len(x) // args.batch_size) * args.epochs
    rate = keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=steps, alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy")
    done = model_io.metadata(args.init).get("epochs", 0) if args.init else 0  # its turns are not drawn again
    started, best = time.monotonic(), (-1.0, 0, {})
    predict = lambda crops: model.predict(model_io.to_batch(crops), batch_size=2000, verbose=0)  # noqa: E731
    for epoch in range(1, args.epochs + 1):
        history = model.fit(dataset(x, args.batch_size, args.seed + done + epoch), epochs=1, verbose=0)
        scores = {name: accuracy(predict, *pair) for name, pair in validation.items()}
        mean = float(np.mean([s["asymmetric"] for s in scores.values()]))
        if mean > best[0]:
            best = (mean, epoch, scores)
            model.save(partial)
        print(f"epoch {epoch}/{args.epochs}  loss {history.history['loss'][-1]:.4f}  validation {mean:.4f}"
              f"{'  (kept)' if best[1] == epoch else ''}  {(time.monotonic() - started) / 60:.1f} min", flush=True)
    return best[1], best[2], time.monotonic() - started


def metadata(args, model, sources, count, run):
    """The model card: what it learned from, with licences, and the validation it was chosen on."""
    from handwriting.training import datasets
    from handwriting.training.train import versions

    epoch, scores, seconds = run
    learned = [{"set": name, "digits": sources[name], "licence": datasets.LICENCES[name]} for name in sources]
    return {
        "name": args.out.stem, "arch": "turn_judge", "params": int(model.count_params()),
        "input": "(28, 28, 1) float32 from handwriting.engine.model_io.to_batch, a crop as the engine serves it",
        "output": "softmax over the quarter turns 0-3 counter-clockwise the crop lies from as written",
        "trained_on": learned, "train_digits": int(count), "epochs": args.epochs, "best_epoch": epoch,
        "batch_size": args.batch_size, "learning_rate": args.learning_rate, "seed": args.seed,
        "initialised_from": args.init.name if args.init else None,
        "validation": {name: {k: round(v, 4) for k, v in s.items()} for name, s in scores.items()},
        "validation_rule": "mean over the sets of the asymmetric digits (not 0, 1, 8) told right at every turn",
        "train_seconds": round(seconds, 1), "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "versions": versions(),
    }


def main(argv=None):
    args = parse_args(argv)
    cli.check_writable(args.out)
    x, sources, validation = load_data(args)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    model = starting.load(args.init) if args.init else build()
    print(f"turn judge: {model.count_params():,} parameters; {len(x):,} training digits; {args.epochs} epochs",
          flush=True)
    partial = model_io.partial_path(args.out)
    run = fit(model, args, x, validation, partial)
    best = model_io.load(partial)
    export.publish(partial, args.out, metadata(args, best, sources, len(x), run), best)
    print(f"saved {args.out}: epoch {run[0]}, " + ", ".join(f"{n} {s['asymmetric']:.4f}" for n, s in run[1].items()))


if __name__ == "__main__":
    main()
