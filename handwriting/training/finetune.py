"""Fine-tune a shipped model on your own handwriting: `python -m handwriting.training.finetune --data my_digits/`.

The folder holds subfolders 0 to 9 of images of any size and colour, one digit each. They go
through the service's own decoding, segmentation and normalisation, so the model learns from
exactly what it will see. A stratified part is held out to show the accuracy before and after.
"""
import datetime
from functools import reduce
from pathlib import Path

import numpy as np

from handwriting import cli, config
from handwriting.engine import decoding, model_io
from handwriting.engine.blobs import union
from handwriting.engine.normalisation import to_mnist
from handwriting.engine.segmentation import segment
from handwriting.training import export

CLASSES = model_io.CLASSES[:model_io.NOT_A_DIGIT]  # a folder per digit


class FolderError(ValueError):
    """A folder that cannot be fine-tuned on; the message says what to fix."""


def parse_args(argv=None):
    settings = config.settings()
    parser = cli.Parser(prog="python -m handwriting.training.finetune", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with subfolders 0 to 9 of digit images")
    parser.add_argument("--base", type=Path, default=settings.model_path, help="model to start from")
    parser.add_argument("--out", type=Path, default=settings.models_dir / "finetuned.keras")
    parser.add_argument("--epochs", type=cli.at_least(2), default=30, help="a third warm the head, the rest tune all layers")
    parser.add_argument("--holdout", type=float, default=0.2, help="share of each class held out to check")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--mnist", help="also score the MNIST test set for the metadata (default: $HANDWRITING_MNIST)")
    args = parser.parse_args(argv)
    if args.out.suffix != ".keras":
        parser.error("--out must end in .keras")
    if not 0 < args.holdout < 1:
        parser.error("--holdout must be between 0 and 1")
    return args


def digit_crop(data, settings):
    """The 28x28 crop of the one digit in an image, as the service would cut it; None when the
    image shows no digit. Raises decoding.DecodeError for what is not a usable image."""
    decoded = decoding.decode(data, settings.max_pixels, reduce_to=settings.working_side)
    found = segment(decoded.image, settings.working_side, settings.max_marks)
    blobs = [blob for line in found.lines for blob in line]
    return to_mnist(reduce(union, blobs).mask) if blobs else None


def load_folder(folder, settings):
    """Crops, labels and the skipped files as [(path, reason)] for a folder of class subfolders."""
    if not folder.is_dir():
        raise FolderError(f"{folder} is not a folder")
    missing = [name for name in CLASSES if not (folder / name).is_dir()]
    if missing:
        raise FolderError(f"{folder} has no subfolder for class {', '.join(missing)}: it needs one per digit, 0 to 9")
    crops, labels, skipped = [], [], []
    for label, name in enumerate(CLASSES):
        for path in sorted(p for p in (folder / name).iterdir() if p.is_file() and not p.name.startswith(".")):
            try:
                crop = digit_crop(path.read_bytes(), settings)
            except decoding.DecodeError as error:
                skipped.append((path, error.code))
                continue
            if crop is None:
                skipped.append((path, "no_digit_found"))
                continue
            crops.append(crop)
            labels.append(label)
    if not crops:
        raise FolderError(f"no readable digit images in {folder}/0 to {folder}/9")
    counts = np.bincount(labels, minlength=10)
    short = [str(d) for d in range(10) if counts[d] < 2]
    if short:
        raise FolderError(f"class {', '.join(short)} has fewer than 2 readable images: each class needs one to "
                          "learn from and one to check")
    return np.array(crops), np.array(labels), skipped


def split(labels, holdout, seed):
    """Indices to train on and to hold out, the same share of every class, at least one of each."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        n = min(len(members) - 1, max(1, round(len(members) * holdout)))
        held.extend(members[:n])
        train.extend(members[n:])
    return np.array(train), np.array(held)


def accuracy(model, images, labels):
    from handwriting.training.evaluate import predict

    return float((predict(model, images).argmax(1) == labels).mean())


def _dataset(crops, labels, seed, augment):
    import tensorflow as tf

    from handwriting.training.augment import augment as distort

    x = model_io.to_batch(crops)
    ds = tf.data.Dataset.from_tensor_slices((x, labels.astype(np.int32)))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(32)
    if augment:
        ds = ds.map(lambda a, b: (distort(a, max_angle=10.0, zoom=0.08, max_shear=0.15, max_shift=1.5), b))
    return ds


def tune(model, crops, labels, epochs, seed):
    """Warm up the head alone, so that its first large gradients do not wreck the features, then
    train every layer at a tenth of the rate. Batch normalisation stays frozen throughout: a few
    hundred images are too few to re-estimate its statistics."""
    import keras

    head_epochs = max(1, epochs // 3)
    for layer in model.layers:
        layer.trainable = False
    model.layers[-1].trainable = True
    stages = ((1e-3, head_epochs), (1e-4, epochs - head_epochs))
    for stage, (rate, n) in enumerate(stages):
        if stage == 1:
            for layer in model.layers:
                layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
        model.compile(optimizer=keras.optimizers.Adam(rate), loss=keras.losses.SparseCategoricalCrossentropy())
        model.fit(_dataset(crops, labels, seed + stage, augment=stage == 1), epochs=n, verbose=0)
    return model


def score_mnist(model, path):
    """The MNIST test accuracy of the tuned model, for its metadata; None without MNIST."""
    if not path:
        return None
    from handwriting.training import data as mnist

    try:
        test = mnist.load(path)
    except mnist.DataError as error:
        cli.fail(str(error))
    test_accuracy = round(accuracy(model, test.x_test, test.y_test), 5)
    print(f"MNIST test accuracy {test_accuracy:.4f}")
    return test_accuracy


def metadata(args, model, counts, scores, test_accuracy):
    """What the tuned model's .json records: `counts` is (images, skipped, trained on, held out),
    `scores` the held-out accuracy (before, after)."""
    images, skipped, train, held = counts
    before, after = scores
    return {
        "name": args.out.stem,
        "arch": model_io.metadata(args.base).get("arch"),
        "params": int(model.count_params()),
        "base": args.base.stem,
        "test_accuracy": test_accuracy,
        "finetune": {
            "data": str(args.data),
            "images": int(images),
            "skipped": skipped,
            "train": int(train),
            "held_out": int(held),
            "before": round(before, 5),
            "after": round(after, 5),
            "epochs": args.epochs,
            "seed": args.seed,
        },
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def main(argv=None):
    args = parse_args(argv)
    settings = config.settings()
    cli.check_writable(args.out)
    if not args.base.is_file():
        cli.fail(f"base model not found: {args.base}")
    try:
        crops, labels, skipped = load_folder(args.data, settings)
    except FolderError as error:
        cli.fail(str(error))
    for path, reason in skipped:
        print(f"skipped {path}: {reason}")
    train, held = split(labels, args.holdout, args.seed)
    print(f"{len(crops)} images ({len(skipped)} skipped): {len(train)} to learn from, {len(held)} held out")

    import keras

    from handwriting.training.evaluate import load_model

    keras.utils.set_random_seed(args.seed)
    model = load_model(args.base)
    before = accuracy(model, crops[held], labels[held])
    model = tune(model, crops[train], labels[train], args.epochs, args.seed)
    after = accuracy(model, crops[held], labels[held])
    print(f"held-out accuracy: before {before:.4f}, after {after:.4f}")

    test_accuracy = score_mnist(model, args.mnist or settings.mnist_path)
    counts = (len(crops), len(skipped), len(train), len(held))
    export.save(model, args.out, metadata(args, model, counts, (before, after), test_accuracy))
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
