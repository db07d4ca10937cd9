"""Average the weights of fine-tunes of one model: `python -m handwriting.training.soup A.keras B.keras --out OUT`.

Fine-tunes that start from the same model stay in one basin of the loss, and the mean of their
weights often reads writers none of them learned from better than either does alone ("model soups",
Wortsman et al. 2022). The ingredients must share their architecture and their seed: the seed
chooses the MNIST training digits held out for validation and for the calibration's pages, which a
model of another seed has learned from. The soup is scored as train.py scores a model (the
validation sets, then MNIST test once), and its card lists what every ingredient learned from.
"""
import datetime
import os
import sys
from pathlib import Path

from handwriting import cli, config
from handwriting.engine import model_io
from handwriting.training import export

PROG = "python -m handwriting.training.soup"


def parse_args(argv=None):
    parser = cli.Parser(prog=PROG, description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("models", type=Path, nargs="+", metavar="MODEL.keras", help="the fine-tunes to average, two or more")
    add("--out", type=Path, required=True, metavar="MODEL.keras", help="where the soup and its card (.json) go")
    add("--force", action="store_true", help="replace --out when it exists (default: off)")
    add("--data", metavar="MNIST.npz", help="MNIST in Keras' .npz layout (default: $HANDWRITING_MNIST, else Keras downloads it)")
    add("--data-root", type=Path, default=config.settings().data_root, metavar="DIR",
        help="folder of the extra digit sets (default: $HANDWRITING_DATA, else %(default)s)")
    args = parser.parse_args(argv)
    if len(args.models) < 2:
        parser.error("give two or more models to average")
    cli.check_model_out(parser, args.out, args.force)
    return args


def ingredients(paths):
    """Each model's card; a one-line refusal for a missing model or ingredients that cannot be mixed."""
    cards = []
    for path in paths:
        if not path.is_file():
            cli.fail(f"{path} is not a model file")
        cards.append(model_io.metadata(path))
    for key in ("arch", "seed"):
        values = {card.get(key) for card in cards}
        if len(values) > 1 or None in values:
            cli.fail(f"the models must share their {key}; their cards give {', '.join(str(card.get(key)) for card in cards)}")
    return cards


def average(weights):
    """The element-wise mean of several models' weight lists (batch-norm statistics included)."""
    return [sum(layer) / len(layer) for layer in zip(*weights)]


def learned_from(cards):
    """Every set any ingredient learned from, each once, with the most images any of them saw."""
    sets = {}
    for card in cards:
        for entry in card.get("trained_on", []):
            kept = sets.get(entry["set"])
            if kept is None or entry["images"] > kept["images"]:
                sets[entry["set"]] = entry
    return list(sets.values())


def metadata(args, model, cards, scores):
    from handwriting.training.train import versions

    validation, accuracy = scores
    first = cards[0]
    return {
        "name": args.out.stem, "arch": first["arch"], "params": int(model.count_params()), "seed": first["seed"],
        "soup_of": [{"model": str(path), "sha256": model_io.digest(path), "initialised_from": card.get("initialised_from"),
                     "elastic": card.get("elastic", 0.0), "validation_accuracy": card.get("validation_accuracy")}
                    for path, card in zip(args.models, cards)],
        "command": " ".join([PROG, *sys.argv[1:]]),
        "trained_on": learned_from(cards),
        "validation": {name: round(value, 5) for name, value in validation.items()},
        "validation_accuracy": round(sum(validation.values()) / len(validation), 5),
        "test_accuracy": round(accuracy, 5),
        "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
    }


def main(argv=None):
    args = parse_args(argv)
    cards = ingredients(args.models)
    cli.check_writable(args.out)
    from handwriting.training import data as mnist, mix, train

    try:
        data = mnist.load(args.data)
        _, held = train.split(data, cards[0]["seed"], None)
        validation_sets = mix.validation_sets(held, args.data_root)
    except (mnist.DataError, FileNotFoundError) as error:
        cli.fail(str(error))
    models = [model_io.load(path) for path in args.models]
    if len({tuple(w.shape for w in m.get_weights()) for m in models}) > 1:
        cli.fail("the models' layers differ in shape")
    soup = models[0]
    soup.set_weights(average([m.get_weights() for m in models]))
    validation = mix.accuracies(soup, validation_sets)
    meta = metadata(args, soup, cards, (validation, train.test_accuracy(soup, data)))
    export.save(soup, args.out, meta)
    print(f"saved {args.out}: validation mean {meta['validation_accuracy']:.4f}, test accuracy {meta['test_accuracy']:.4f}")


if __name__ == "__main__":
    main()
