"""Train the digit classifier on many writers: `./run_training.sh` (see --help).

It learns from MNIST and every extra set whose licence allows it (see training/mix.py), as the
engine serves them. Writers it never saw choose the model (MNIST's held-out training digits, USPS,
optdigits and ARDIS IV test, ORAND validation digits); MNIST's test set is scored once, at the end.
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
from handwriting.training import export, resume, starting

VALIDATION = 5000
ARCHITECTURES = ("cnn", "advanced", "linear")  # architectures.ARCHITECTURES, named here so that --help needs no Keras


def build_parser():
    """The command line; every option with its default and, where there are few, its choices. The
    program's name is run_training.sh's when it starts us (HANDWRITING_PROG)."""
    from handwriting.training import datasets

    settings = config.settings()
    parser = cli.Parser(prog=os.environ.get("HANDWRITING_PROG") or "python -m handwriting.training.train",
                        description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--data", metavar="MNIST.npz",
        help="MNIST in Keras' .npz layout (default: $HANDWRITING_MNIST, else Keras downloads it)")
    add("--data-root", type=Path, default=settings.data_root, metavar="DIR",
        help="folder of the extra digit sets (default: $HANDWRITING_DATA, else %(default)s)")
    add("--sets", default=",".join(datasets.TRAINABLE), metavar="SET,SET,...",
        help=f"sets to learn from, comma-separated, from {', '.join(datasets.TRAINABLE)} (default: all of "
             "them; ARDIS IV only chooses the epoch, its licence keeps it out of a model)")
    add("--epochs", type=int, default=30, metavar="N", help="most epochs; early stopping may end sooner (default: %(default)s)")
    add("--batch-size", type=int, default=128, metavar="N", help="images per training step (default: %(default)s)")
    add("--learning-rate", type=float, default=2e-3, metavar="RATE", help="peak learning rate (default: %(default)s)")
    add("--seed", type=int, default=42, metavar="N",
        help="seeds the split, the composition and the weights (default: %(default)s)")
    add("--arch", default="cnn", choices=ARCHITECTURES,
        help="network: cnn (the shipped model's), advanced (deeper, separable convolutions) or linear "
             "(a baseline without convolutions) (default: %(default)s)")
    add("--init", type=Path, metavar="MODEL.keras",
        help="start from this model's weights (default: none, random weights)")
    add("--out", type=Path, default=config.ROOT / "models" / "digit_trained.keras", metavar="MODEL.keras",
        help="where the model and its card (.json) go; an existing file needs --force (default: %(default)s)")
    add("--force", action="store_true",
        help="replace --out when it exists; a shipped model is never replaced unasked (default: off)")
    add("--subset", type=int, metavar="N", help="train on a random N of the training images, for quick runs "
        "(default: all of them)")
    add("--patience", type=int, default=8, metavar="N", help="early-stopping patience in epochs (default: %(default)s)")
    add("--reports", type=Path, metavar="DIR",
        help=f"folder for the history and the curves (default: $HANDWRITING_REPORTS, else {settings.reports_dir})")
    add("--tensorboard", type=Path, metavar="DIR", help="write TensorBoard logs to this folder (default: none)")
    add("--resume", type=Path, metavar="DIR",
        help="keep the training state in this folder after every epoch: the same command started again "
             "goes on from the last finished epoch, and the folder is emptied when the model is saved "
             "(default: none, a stopped run is lost)")
    add("--served-pages", type=int, default=0, metavar="N",
        help="also learn from the crops the engine cuts from N pages composed from the training digits "
             "under the stress conditions, in served_pages.py (default: %(default)s, none)")
    add("--served-conditions", default="", metavar="NAME[*K],...",
        help="the stress conditions of the --served-pages, taken in turn, NAME*K as K of them; "
             "'upright' is every upright one (default: upright); e.g. upright,layout_separators*14 "
             "writes 15 times as many pages with currency signs and minus signs")
    add("--served-marks", type=int, default=0, metavar="N",
        help="also learn that the marks the engine takes for digits on N pages of marks holding no digit "
             "(scribbles, blots, hatching, shadows, letters) are not one digit (default: %(default)s, none)")
    add("--served-orand", type=int, default=0, metavar="K",
        help="also learn from the crops the engine cuts from ORAND-CAR-A's training amounts (not the "
             "line reader's selection split), labelled by their digit boxes, each seen K times an epoch "
             "(default: %(default)s, none)")
    add("--workers", type=int, default=2, metavar="N",
        help="processes that read the --served-pages and --served-marks (default: %(default)s)")
    add("--elastic", type=float, default=0.0, metavar="P",
        help="also warp a share P of the digits each epoch with a smooth random field, as another hand "
             "bends the same digit, in augment.py (default: %(default)s, none)")
    add("--no-augment", action="store_true",
        help="train on the plain images (default: off: each image is distorted anew every epoch)")
    return parser


def parse_args(argv=None):
    from handwriting.training import datasets

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.workers < 1 or min(args.served_pages, args.served_marks,
                                                                            args.served_orand) < 0:
        parser.error("--epochs, --batch-size and --workers must be positive, --served-pages, --served-marks "
                     "and --served-orand not negative")
    if not 0.0 <= args.elastic <= 1.0:
        parser.error(f"--elastic {args.elastic:g}: a share of the digits, from 0 to 1")
    cli.check_model_out(parser, args.out, args.force)
    args.sets = [name for name in args.sets.split(",") if name]
    args.served_conditions = _served_conditions(parser, args.served_conditions)
    starting.check_seed(parser, args.init, args.seed)
    refused = sorted(set(args.sets) - set(datasets.TRAINABLE))
    if refused or not args.sets:
        parser.error(f"--sets: choose from {', '.join(datasets.TRAINABLE)} (not {', '.join(refused) or 'none'})")
    return args


def _served_conditions(parser, text):
    """The --served-conditions as the list of conditions taken in turn, None for every upright
    condition once; a parser error for a name that is no upright stress condition or a bad K."""
    from handwriting.training import served_pages

    upright = served_pages.upright_conditions()
    conditions = []
    for part in filter(None, text.split(",")):
        name, _, times = part.partition("*")
        if name != "upright" and name not in upright:
            parser.error(f"--served-conditions: not an upright stress condition: {name}")
        if times and (not times.isdigit() or int(times) < 1):
            parser.error(f"--served-conditions: {part}: K must be a whole number of at least 1")
        conditions += (upright if name == "upright" else [name]) * int(times or 1)
    return conditions or None


def split(data, seed, subset):
    """Shuffle the training set with the seed and hold out its last VALIDATION images."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(data.x_train))
    held = min(VALIDATION, subset // 5) if subset else VALIDATION
    train, val = order[:-held], order[-held:]
    if subset:
        train = train[:subset]
    return (data.x_train[train], data.y_train[train]), (data.x_train[val], data.y_train[val])


def dataset(x, y, batch_size, seed, augment, elastic=0.0):
    """Shuffled batches of the mix, distorted on the fly; `elastic` is the share of digits warped."""
    import tensorflow as tf

    from handwriting.training.augment import augment as distort

    ds = tf.data.Dataset.from_tensor_slices((x[..., None], y))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    ds = ds.map(lambda a, b: (tf.cast(a, tf.float32) / model_io.WHITE, b))
    if augment:
        ds = ds.map(lambda a, b: (distort(a, elastic=elastic), b), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def compile_model(model, arch, epoch_steps, epochs, peak, warm_start):
    """A started model goes straight to its peak rate and decays; a new one warms up first."""
    import keras

    steps = epoch_steps * epochs
    if warm_start:
        rate = keras.optimizers.schedules.CosineDecay(peak, decay_steps=steps, alpha=0.01)
        loss = keras.losses.SparseCategoricalCrossentropy()
    elif arch == "advanced":
        rate = keras.optimizers.schedules.CosineDecayRestarts(2e-3, first_decay_steps=epoch_steps * 5, t_mul=2.0)
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)
    else:
        rate = keras.optimizers.schedules.CosineDecay(
            peak / 20, decay_steps=steps, warmup_target=peak, warmup_steps=min(steps // 10, 1000), alpha=0.01
        )
        loss = keras.losses.SparseCategoricalCrossentropy()
    model.compile(optimizer=keras.optimizers.AdamW(rate, weight_decay=1e-4), loss=loss, metrics=["accuracy"])


def stopped(rows, patience):
    """Early stopping: `patience` epochs since the best validation mean (the first of equals), and
    at least one, as Keras' EarlyStopping counts them."""
    means = [row["val_accuracy"] for row in rows]
    return bool(means) and len(means) - 1 - means.index(max(means)) >= max(patience, 1)


class Selection:
    """Scores every validation set after each epoch and puts their mean in the logs as
    `val_accuracy`, so that checkpointing and early stopping choose by unseen writers; appends the
    epoch to `rows` (which holds a resumed run's earlier epochs) and prints one line per epoch with
    the elapsed time and ETA, for logs too."""

    def __new__(cls, sets, epochs, patience, rows):
        import keras

        from handwriting.training import mix

        class _Selection(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.start, self.first = time.monotonic(), len(rows)

            def on_epoch_end(self, epoch, logs=None):
                scores = mix.accuracies(self.model, sets)
                logs["val_accuracy"] = sum(scores.values()) / len(scores)
                rows.append({**{name: float(value) for name, value in logs.items()},
                             "scores": {name: float(value) for name, value in scores.items()}})
                done, elapsed = epoch + 1, time.monotonic() - self.start
                print(f"epoch {done}/{epochs}  loss {logs['loss']:.4f}  validation mean {logs['val_accuracy']:.4f}  "
                      + "  ".join(f"{name} {value:.4f}" for name, value in scores.items())
                      + f"  elapsed {elapsed / 60:.1f} min  "
                      + f"ETA {elapsed / (done - self.first) * (epochs - done) / 60:.1f} min", flush=True)
                self.model.stop_training = stopped(rows, patience)

        return _Selection()


class Record:
    """Saves each finished epoch into the --resume folder, after the checkpoint has taken it."""

    def __new__(cls, folder, rows, partial, clock):
        import keras

        class _Record(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                before = folder.best_value("val_accuracy")
                improved = before is None or rows[-1]["val_accuracy"] > before
                folder.record(self.model, rows[-1], partial, improved, clock())

        return _Record()


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
    left.plot(epochs, history["loss"], label="train loss")
    right.plot(epochs, history["accuracy"], label="train accuracy")
    right.plot(epochs, history["val_accuracy"], label="validation mean accuracy (unseen writers)")
    for axis in (left, right):
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


def training_sets(args, data, folder):
    """The training mix as batches, the validation sets, and the mix's sources; the crops of the
    served pages are kept in the --resume folder, if any, for a resumed run."""
    import numpy as np

    from handwriting.training import mix

    (x_train, y_train), held = split(data, args.seed, args.subset)
    trained = mix.training_mix((x_train, y_train), args.data_root, args.sets, args.seed)
    x, y, sources = trained.x, trained.y, dict(trained.sources)
    if args.served_pages or args.served_marks:
        from handwriting.training import served_pages

        digits = served_pages.stress_digits(trained.splits)
        cutter = args.init or config.settings().model_path

        def serve():
            return served_pages.served_crops(cutter, digits, args.served_pages, args.seed, args.workers,
                                             args.served_marks, args.served_conditions)

        crops, labels, on_marks = folder.cached(serve) if folder else serve()
        x, y = np.concatenate([x, crops]), np.concatenate([y, labels.astype(y.dtype)])
        refused = int(np.count_nonzero(labels[~on_marks] == model_io.NOT_A_DIGIT))
        if args.served_pages:
            sources[served_pages.SOURCE] = int(np.count_nonzero(~on_marks)) - refused
            sources[served_pages.SOURCE_NOT_DIGITS] = refused
        if args.served_marks:
            sources[served_pages.SOURCE_MARKS] = int(np.count_nonzero(on_marks))
    if args.served_orand:
        from handwriting.training import datasets, served_pages

        strings, _ = datasets.orand_strings(args.data_root)
        selection = datasets.orand_selection_ids([s.image_id for s in strings])
        crops, labels = served_pages.orand_crops(args.init or config.settings().model_path,
                                                 [s for s in strings if s.image_id not in selection])
        x = np.concatenate([x, np.tile(crops, (args.served_orand, 1, 1))])
        y = np.concatenate([y, np.tile(labels.astype(y.dtype), args.served_orand)])
        sources[served_pages.SOURCE_ORAND] = len(labels)
    if args.subset:
        pick = np.random.default_rng(args.seed).permutation(len(x))[: args.subset]
        x, y = x[pick], y[pick]
    validation = mix.validation_sets(held, args.data_root)
    batches = dataset(x, y, args.batch_size, args.seed, not args.no_augment, args.elastic)
    if args.arch == "advanced" and not args.init:  # its label smoothing needs one-hot targets
        import keras

        batches = batches.map(lambda a, b: (a, keras.ops.one_hot(b, len(model_io.CLASSES))))
    return batches, validation, sources, len(x)


def fit(model, args, train_ds, validation, partial, folder):
    """Train with early stopping on the validation mean, the best model so far checkpointed to
    `partial`, from the epoch a resumed run had reached; the history of every epoch, each one's
    per-set scores and the seconds all the runs took."""
    import keras

    started, earlier = time.monotonic(), folder.seconds if folder else 0.0

    def clock():
        return earlier + time.monotonic() - started

    rows = list(folder.rows) if folder else []
    if folder and rows:
        folder.restore(model, partial)
        print(f"resuming from {folder.path}: {len(rows)} of {args.epochs} epochs done", flush=True)
    callbacks = [
        Selection(validation, args.epochs, args.patience, rows),
        keras.callbacks.ModelCheckpoint(partial, monitor="val_accuracy", mode="max", save_best_only=True,
                                        initial_value_threshold=folder.best_value("val_accuracy") if folder else None),
    ]
    if folder:
        callbacks.append(Record(folder, rows, partial, clock))
    if args.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(args.tensorboard)))
    if len(rows) < args.epochs and not stopped(rows, args.patience):
        model.fit(train_ds, epochs=args.epochs, initial_epoch=len(rows), callbacks=callbacks, shuffle=False,
                  verbose=1 if sys.stdout.isatty() else 2)
    history = {name: [row[name] for row in rows] for name in rows[0] if name != "scores"}
    return history, [row["scores"] for row in rows], clock()


def test_accuracy(model, data):
    """Accuracy on the test set, scored once, at the end."""
    probabilities = model_io.digit_probabilities(model.predict(model_io.to_batch(data.x_test), batch_size=1000, verbose=0))
    return float((probabilities.argmax(1) == data.y_test).mean())


def metadata(args, model, history, run, scores, sha256):
    """The model card: what the model learned from (with each set's licence), how it was chosen
    and what it scores on writers it never saw. `run` is (sources, training images, seconds);
    `scores` is (the chosen epoch's per-set validation accuracies, MNIST test accuracy)."""
    from handwriting.training import datasets, served_pages

    sources, images, wall = run
    validation, accuracy = scores
    licences = {**datasets.LICENCES, served_pages.SOURCE_MARKS: served_pages.LICENCE_MARKS,
                served_pages.SOURCE_ORAND: datasets.LICENCES["orand"]}
    learned = [{"set": name, "images": count, "licence": licences.get(name, "composed here from the sets above")}
               for name, count in sources.items()]
    return {
        "name": args.out.stem,
        "arch": args.arch,
        "params": int(model.count_params()),
        "epochs": len(history["loss"]),
        "epochs_requested": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "augmented": not args.no_augment,
        "elastic": args.elastic if not args.no_augment else 0.0,
        "initialised_from": args.init.name if args.init else None,
        "trained_on": learned,
        "train_images": int(images),
        "validation": {name: round(value, 5) for name, value in validation.items()},
        "validation_accuracy": round(sum(validation.values()) / len(validation), 5),
        "test_accuracy": round(accuracy, 5),
        "data_sha256": sha256,
        "train_seconds": round(wall, 1),
        "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
    }


def build_model(args):
    """A new model of --arch, or the weights of --init to start from."""
    from handwriting.training import architectures

    if args.arch not in architectures.ARCHITECTURES:
        cli.fail(f"unknown --arch {args.arch!r}; choose one of {', '.join(architectures.ARCHITECTURES)}")
    return starting.load(args.init) if args.init else architectures.build(args.arch)


def main(argv=None):
    args = parse_args(argv)
    from handwriting.training import data as mnist

    cli.check_writable(args.out)
    try:
        data = mnist.load(args.data)
    except mnist.DataError as error:
        cli.fail(str(error))
    import keras
    import numpy as np

    keras.utils.set_random_seed(args.seed)
    try:
        folder = resume.Folder(args.resume, resume.fingerprint(vars(args), data.sha256)) if args.resume else None
        train_ds, validation, sources, images = training_sets(args, data, folder)
    except (FileNotFoundError, resume.ResumeError) as error:
        cli.fail(str(error))
    model = build_model(args)
    compile_model(model, args.arch, int(np.ceil(images / args.batch_size)), args.epochs, args.learning_rate,
                  warm_start=args.init is not None)
    print(f"{args.arch}: {model.count_params():,} parameters, {images:,} training images from "
          f"{', '.join(f'{k} {v:,}' for k, v in sources.items())}; {args.epochs} epochs", flush=True)
    # Checkpoints go beside the target and replace it only at the end, so that a server or an
    # evaluation never reads a half-written or half-trained model.
    partial = model_io.partial_path(args.out)
    history, per_epoch, wall = fit(model, args, train_ds, validation, partial, folder)

    best = model_io.load(partial)
    chosen = per_epoch[int(np.argmax(history["val_accuracy"]))]
    accuracy = test_accuracy(best, data)
    write_reports(history, args.reports or config.settings().reports_dir)
    meta = metadata(args, best, history, (sources, images, wall), (chosen, accuracy), data.sha256)
    export.publish(partial, args.out, meta, best)
    if folder:
        folder.clear()
    print(f"saved {args.out}: validation mean {meta['validation_accuracy']:.4f}, "
          f"test accuracy {accuracy:.4f}, {wall / 60:.1f} min")


if __name__ == "__main__":
    main()
