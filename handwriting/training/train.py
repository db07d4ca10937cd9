"""Train a digit classifier on MNIST: `python -m handwriting.training.train` (see --help).

The validation split is carved from the training set; the test set is only scored once, at the
end, for the metadata, and never selects anything.
"""
import csv
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

from handwriting import cli, config
from handwriting.engine import model_io

VALIDATION = 5000


def parse_args(argv=None):
    parser = cli.Parser(prog="python -m handwriting.training.train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="Keras-layout mnist.npz (default: $HANDWRITING_MNIST, else download)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--arch", default="cnn")
    parser.add_argument("--out", type=Path, default=config.ROOT / "models" / "digit_cnn.keras")
    parser.add_argument("--subset", type=int, help="train on only the first N training images (quick runs)")
    parser.add_argument("--patience", type=int, default=8, help="early-stopping patience in epochs")
    parser.add_argument("--reports", type=Path, help="folder for history and curves (default: reports/)")
    parser.add_argument("--tensorboard", type=Path, help="write TensorBoard logs to this folder")
    parser.add_argument("--no-augment", action="store_true", help="train on the plain images")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be positive")
    if args.out.suffix != ".keras":
        parser.error("--out must end in .keras")
    return args


def split(data, seed, subset):
    """Shuffle the training set with the seed and hold out its last VALIDATION images."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(data.x_train))
    held = min(VALIDATION, subset // 5) if subset else VALIDATION
    if subset:
        order = order[: subset + held]
    train, val = order[:-held], order[-held:]
    return (data.x_train[train], data.y_train[train]), (data.x_train[val], data.y_train[val])


def with_rejects(x, y, seed):
    """The digits, their copies as the engine normalises them, and "not one digit" examples made
    from the same digits (about one in eight), with label NOT_A_DIGIT."""
    import numpy as np

    from handwriting.training import composition

    others = composition.not_digits(x, len(x) // 8, seed)
    served = np.concatenate([composition.as_served(x), others])
    plain = np.concatenate([x, others])
    labels = np.concatenate([y, np.full(len(others), model_io.NOT_A_DIGIT, y.dtype)])
    return plain, served, labels


def dataset(plain, served, y, batch_size, seed, training, augment):
    """Batches that take each image at random as MNIST drew it or as the engine normalises it."""
    import tensorflow as tf

    from handwriting.training.augment import augment as distort

    ds = tf.data.Dataset.from_tensor_slices((plain[..., None], served[..., None], y.astype("int32")))
    if training:
        ds = ds.shuffle(len(plain), seed=seed, reshuffle_each_iteration=True)

    def pick(a, b, label):
        chosen = tf.random.uniform([tf.shape(a)[0], 1, 1, 1]) < 0.5
        return tf.cast(tf.where(chosen, a, b), tf.float32) / model_io.WHITE, label

    ds = ds.batch(batch_size).map(pick)
    if augment:
        ds = ds.map(lambda a, b: (distort(a), b), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def compile_model(model, arch, epoch_steps, epochs):
    import keras

    steps = epoch_steps * epochs
    if arch == "advanced":
        rate = keras.optimizers.schedules.CosineDecayRestarts(2e-3, first_decay_steps=epoch_steps * 5, t_mul=2.0)
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)
    else:
        rate = keras.optimizers.schedules.CosineDecay(
            1e-4, decay_steps=steps, warmup_target=2e-3, warmup_steps=min(steps // 10, 1000), alpha=0.01
        )
        loss = keras.losses.SparseCategoricalCrossentropy()
    model.compile(optimizer=keras.optimizers.AdamW(rate, weight_decay=1e-4), loss=loss, metrics=["accuracy"])


class Eta:
    """A one-line summary per epoch with the whole run's elapsed time and ETA, for logs too."""

    def __new__(cls, epochs):
        import keras

        class _Eta(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.start = time.monotonic()

            def on_epoch_end(self, epoch, logs=None):
                done = epoch + 1
                elapsed = time.monotonic() - self.start
                eta = elapsed / done * (epochs - done)
                print(
                    f"epoch {done}/{epochs}  loss {logs['loss']:.4f}  val_accuracy {logs['val_accuracy']:.4f}"
                    f"  elapsed {elapsed / 60:.1f} min  ETA {eta / 60:.1f} min",
                    flush=True,
                )

        return _Eta()


def write_reports(history, folder):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    rows = [dict(epoch=i + 1, **{k: float(v[i]) for k, v in history.items()}) for i in range(len(history["loss"]))]
    (folder / "history.json").write_text(json.dumps(rows, indent=1))
    with open(folder / "history.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = [row["epoch"] for row in rows]
    for key, axis in (("loss", left), ("accuracy", right)):
        axis.plot(epochs, history[key], label=f"train {key}")
        axis.plot(epochs, history[f"val_{key}"], label=f"validation {key}")
        axis.set_xlabel("epoch")
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(folder / "training_curves.png", dpi=100)
    plt.close(figure)


def versions():
    import cv2
    import keras
    import numpy
    import tensorflow

    return {
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "opencv": cv2.__version__,
    }


def training_sets(args, data):
    """The training and validation datasets, with "not one digit" examples, and their sizes:
    (digits, images with non-digits) for training, digits for validation."""
    import keras

    from handwriting.training.architectures import OUTPUTS

    (x_train, y_train), (x_val, y_val) = split(data, args.seed, args.subset)
    train_sets = with_rejects(x_train, y_train, args.seed)
    train_ds = dataset(*train_sets, args.batch_size, args.seed, True, not args.no_augment)
    val_ds = dataset(*with_rejects(x_val, y_val, args.seed + 1), 512, args.seed, False, False)
    if args.arch == "advanced":
        train_ds = train_ds.map(lambda a, b: (a, keras.ops.one_hot(b, OUTPUTS)))
        val_ds = val_ds.map(lambda a, b: (a, keras.ops.one_hot(b, OUTPUTS)))
    return train_ds, val_ds, (len(x_train), len(train_sets[0])), len(x_val)


def fit(model, args, train_ds, val_ds, partial):
    """Train with early stopping, the best model so far checkpointed to `partial`; the history
    and the seconds it took."""
    import keras

    callbacks = [
        keras.callbacks.ModelCheckpoint(partial, monitor="val_accuracy", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=args.patience, restore_best_weights=True),
        Eta(args.epochs),
    ]
    if args.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(args.tensorboard)))
    started = time.monotonic()
    history = model.fit(
        train_ds, validation_data=val_ds, epochs=args.epochs, callbacks=callbacks,
        verbose=1 if sys.stdout.isatty() else 2,
    )
    return history.history, time.monotonic() - started


def test_accuracy(model, data):
    """Accuracy on the test set, scored once, at the end."""
    probabilities = model_io.digit_probabilities(model.predict(model_io.to_batch(data.x_test), batch_size=1000, verbose=0))
    return float((probabilities.argmax(1) == data.y_test).mean())


def metadata(args, model, history, train_images, scores, sha256, wall):
    """What the model's .json records; `scores` is (best validation accuracy, test accuracy)."""
    best_val, accuracy = scores
    return {
        "name": args.out.stem,
        "arch": args.arch,
        "params": int(model.count_params()),
        "epochs": len(history["loss"]),
        "epochs_requested": args.epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "augmented": not args.no_augment,
        "train_images": int(train_images),
        "validation_accuracy": round(float(best_val), 5),
        "test_accuracy": round(accuracy, 5),
        "data_sha256": sha256,
        "train_seconds": round(wall, 1),
        "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
    }


def main(argv=None):
    args = parse_args(argv)
    from handwriting.training import data as mnist

    cli.check_writable(args.out)
    try:
        data = mnist.load(args.data)
    except mnist.DataError as error:
        cli.fail(str(error))
    from handwriting.training import architectures

    if args.arch not in architectures.ARCHITECTURES:
        cli.fail(f"unknown --arch {args.arch!r}; choose one of {', '.join(architectures.ARCHITECTURES)}")

    import keras
    import numpy as np

    keras.utils.set_random_seed(args.seed)
    train_ds, val_ds, (digits, images), validation = training_sets(args, data)
    model = architectures.build(args.arch)
    compile_model(model, args.arch, int(np.ceil(images / args.batch_size)), args.epochs)
    print(f"{args.arch}: {model.count_params():,} parameters, {digits:,} training digits and "
          f"{images - digits:,} non-digits, {validation:,} validation digits, "
          f"{args.epochs} epochs", flush=True)
    # Checkpoints go beside the target and replace it only at the end, so that a server or an
    # evaluation never reads a half-written or half-trained model.
    partial = model_io.partial_path(args.out)
    history, wall = fit(model, args, train_ds, val_ds, partial)

    best = model_io.load(partial)
    best_val = max(history["val_accuracy"])
    accuracy = test_accuracy(best, data)
    write_reports(history, args.reports or config.settings().reports_dir)
    model_io.publish(partial, args.out, metadata(args, best, history, digits, (best_val, accuracy), data.sha256, wall))
    print(f"saved {args.out}: validation {best_val:.4f}, test accuracy {accuracy:.4f}, "
          f"{wall / 60:.1f} min")


if __name__ == "__main__":
    main()
