"""Score a trained model on all 10,000 MNIST test images: `python -m handwriting.training.evaluate` (see --help).

Prints the classification report and the accuracy, and writes the report, a confusion matrix and a
grid of the misclassified digits to the reports folder; --json adds the metrics for machines.
--robustness instead measures every shipped model (or --model) on distorted copies of the test
set and writes robustness.md, .json and .png to the reports folder. --validation instead scores the
model on the writers that chose it (training/mix.py), set by set, beside the figures its card states.
"""
import json
from pathlib import Path

import numpy as np

from handwriting import cli, config
from handwriting.engine import model_io
from handwriting.training import data as mnist

CLASSES = model_io.NOT_A_DIGIT  # every test image is one of the ten digits
EPSILON = 1e-7  # the probability clip Keras' cross-entropy uses, so the loss matches training's
REPORT = "classification_report.txt"
CONFUSION = "confusion_matrix.png"
MISTAKES = "misclassified.png"
ROBUSTNESS = "robustness"


def parse_args(argv=None):
    parser = cli.Parser(prog="python -m handwriting.training.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="trained .keras model (default: $HANDWRITING_MODEL, else models/)")
    parser.add_argument("--data", help="Keras-layout mnist.npz (default: $HANDWRITING_MNIST, else download)")
    parser.add_argument("--json", type=Path, help="also write the metrics to this JSON file")
    parser.add_argument("--reports", type=Path, help="folder for the report and figures (default: reports/)")
    parser.add_argument("--robustness", action="store_true",
                        help="accuracy under noise, blur, rotation, shift, scale and stroke changes, per model")
    parser.add_argument("--validation", action="store_true",
                        help="accuracy on each validation set of unseen writers, beside the model card's figures")
    parser.add_argument("--data-root", type=Path, help="folder of the extra digit sets (default: $HANDWRITING_DATA)")
    parser.add_argument("--limit", type=cli.at_least(10), help="score only the first N test images (quick runs)")
    return parser.parse_args(argv)


def load_model(path):
    """The model at `path`, or a one-line exit when it is missing, unreadable or not a digit classifier."""
    if not path.is_file():
        cli.fail(f"model file not found: {path}")
    try:
        model = model_io.load(path)
    except Exception as error:
        cli.fail(f"{path} is not a loadable Keras model: {type(error).__name__}")
    shape = model_io.INPUT_SHAPE
    if tuple(model.input_shape[1:]) != shape or tuple(model.output_shape[1:]) not in ((CLASSES,), (CLASSES + 1,)):
        cli.fail(f"{path} maps {model.input_shape} to {model.output_shape}, expected {shape} to ({CLASSES},)"
                 f" or ({CLASSES + 1},)")
    return model


def predict(model, images):
    """Softmax probabilities of the ten digits for uint8 (N, 28, 28) images; a model's extra
    "not a digit" class is left out, as every test image is a digit."""
    return model_io.digit_probabilities(model.predict(model_io.to_batch(images), batch_size=500, verbose=0))


def confusion(y, pred, classes=CLASSES):
    """Counts with true classes as rows and predicted classes as columns."""
    return np.bincount(y * classes + pred, minlength=classes * classes).reshape(classes, classes)


def _ratio(numerator, denominator):
    """Element-wise division that gives 0 where the denominator is 0, as an undefined score is no score."""
    numerator = np.asarray(numerator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def per_class(conf):
    """Precision, recall, F1 and support of every class, keyed by the class as a string for JSON."""
    hits, support, predicted = np.diag(conf), conf.sum(axis=1), conf.sum(axis=0)
    precision, recall = _ratio(hits, predicted), _ratio(hits, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return {
        str(c): {
            "precision": round(float(precision[c]), 5),
            "recall": round(float(recall[c]), 5),
            "f1": round(float(f1[c]), 5),
            "support": int(support[c]),
        }
        for c in range(len(conf))
    }


def cross_entropy(y, probabilities):
    """Mean negative log-probability of the true class."""
    true = probabilities[np.arange(len(y)), y]
    return float(-np.log(np.clip(true, EPSILON, 1.0)).mean())


def metrics(y, probabilities):
    """Everything --json reports, for one set of labels and the model's probabilities."""
    pred = probabilities.argmax(axis=1)
    return {
        "accuracy": float((pred == y).mean()),
        "loss": round(cross_entropy(y, probabilities), 6),
        "n": int(len(y)),
        "per_class": per_class(confusion(y, pred)),
    }


def report_table(result):
    """The classification report as fixed-width text, one row per class plus the averages."""
    rows = [f"{'':>12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    scores = result["per_class"]
    for name, score in scores.items():
        rows.append(f"{name:>12}{score['precision']:>10.4f}{score['recall']:>10.4f}{score['f1']:>10.4f}"
                    f"{score['support']:>10}")
    macro = {key: np.mean([score[key] for score in scores.values()]) for key in ("precision", "recall", "f1")}
    rows.append("")
    rows.append(f"{'accuracy':>12}{'':>20}{result['accuracy']:>10.4f}{result['n']:>10}")
    rows.append(f"{'macro avg':>12}{macro['precision']:>10.4f}{macro['recall']:>10.4f}{macro['f1']:>10.4f}"
                f"{result['n']:>10}")
    rows.append(f"{'loss':>12}{'':>20}{result['loss']:>10.4f}")
    return "\n".join(rows) + "\n"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(conf, path):
    """The confusion matrix on a log colour scale, so that the few errors stand out next to the diagonal."""
    from matplotlib.colors import LogNorm

    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 6), layout="constrained")
    shown = axis.imshow(np.ma.masked_equal(conf, 0), cmap="Blues", norm=LogNorm(vmin=1, vmax=max(conf.max(), 2)))
    figure.colorbar(shown, ax=axis, label="images")
    for (row, column), count in np.ndenumerate(conf):
        if count:
            dark = count > np.sqrt(conf.max())
            axis.text(column, row, count, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    axis.set(xticks=range(len(conf)), yticks=range(len(conf)), xlabel="predicted", ylabel="true",
             title=f"Confusion matrix, {np.trace(conf):,} of {conf.sum():,} correct")
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_mistakes(images, y, probabilities, path, limit=100, columns=10):
    """The misclassified digits, most confident mistakes first, each titled true / predicted / probability."""
    plt = _pyplot()
    pred = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    wrong = wrong[np.argsort(-probabilities[wrong, pred[wrong]], kind="stable")][:limit]
    rows = max(1, -(-len(wrong) // columns))
    figure, axes = plt.subplots(
        rows, columns, figsize=(columns * 1.2, rows * 1.5 + 0.4), squeeze=False, layout="constrained"
    )
    for axis in axes.flat:
        axis.axis("off")
    for axis, i in zip(axes.flat, wrong):
        axis.imshow(images[i], cmap="gray", vmin=0, vmax=255)
        axis.set_title(f"true {y[i]}\npred {pred[i]} {probabilities[i, pred[i]]:.2f}", fontsize=8)
    total = int((pred != y).sum())
    figure.suptitle(f"{total} misclassified" + (f", the {limit} most confident shown" if total > limit else ""))
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_reports(folder, result, images, y, probabilities):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / REPORT).write_text(report_table(result))
    plot_confusion(confusion(y, probabilities.argmax(axis=1)), folder / CONFUSION)
    plot_mistakes(images, y, probabilities, folder / MISTAKES)


def robustness(model_paths, images, labels, reports):
    """The robustness table of each model, printed and written to the reports folder."""
    from handwriting.training import robustness as distortions

    models = {path.stem: load_model(path) for path in model_paths}
    rows = distortions.measure(models, images, labels, predict)
    text = distortions.table(rows, list(models))
    print(text)
    try:
        (reports / f"{ROBUSTNESS}.md").write_text(text)
        (reports / f"{ROBUSTNESS}.json").write_text(json.dumps({"n": int(len(labels)), "rows": rows}, indent=1) + "\n")
        distortions.plot(rows, list(models), reports / f"{ROBUSTNESS}.png")
    except OSError as error:
        cli.fail(f"cannot write the results: {error.strerror or error}")
    print(f"{len(rows)} conditions x {len(models)} models on {len(labels):,} test images; reports in {reports}")


def validation(model_path, data, root):
    """Each validation set's accuracy beside the card's, printed; {name: accuracy}."""
    from handwriting.training import mix, train

    model, card = load_model(model_path), model_io.metadata(model_path)
    _, held = train.split(data, card.get("seed", 42), None)
    try:
        sets = mix.validation_sets(held, root)
    except FileNotFoundError as error:
        cli.fail(str(error))
    scores = mix.accuracies(model, sets)
    stated = card.get("validation", {})
    print(f"{'validation set':34} {'measured':>9} {'card':>9}")
    for name, value in scores.items():
        card = f"{stated[name] * 100:8.2f}%" if name in stated else "        -"
        print(f"{name:34} {value * 100:8.2f}% {card}")
    return scores


def main(argv=None):
    args = parse_args(argv)
    settings = config.settings()
    model_path = args.model or settings.model_path
    reports = args.reports or settings.reports_dir
    if args.json:
        cli.check_writable(args.json)
    cli.check_writable(reports / REPORT)
    try:
        data = mnist.load(args.data)
    except mnist.DataError as error:
        cli.fail(str(error))
    images, labels = data.x_test[: args.limit], data.y_test[: args.limit]

    if args.validation:
        scores = validation(model_path, data, args.data_root or settings.data_root)
        if args.json:
            args.json.write_text(json.dumps(scores, indent=2) + "\n")
        return
    if args.robustness:
        paths = [args.model] if args.model else list(model_io.scan(settings.models_dir, settings.model_path).values())
        robustness(paths, images, labels, reports)
        return
    model = load_model(model_path)
    probabilities = predict(model, images)
    result = metrics(labels, probabilities)
    print(report_table(result))
    try:
        write_reports(reports, result, images, labels, probabilities)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
    except OSError as error:
        cli.fail(f"cannot write the results: {error.strerror or error}")
    mistakes = round((1 - result["accuracy"]) * result["n"])
    print(f"accuracy {result['accuracy']:.4f} on {result['n']:,} test images ({mistakes} wrong), "
          f"loss {result['loss']:.4f}; reports in {reports}")


if __name__ == "__main__":
    main()
