"""Benchmark the reading engine: `python -m handwriting.bench` (see --help).

Scores whole numbers read exactly, per kind of synthetic image (handwriting.bench.synth, built from
MNIST test digits the model never trained on) and on the real-world folder, then times the two
reference images of issue #3 (accuracy.py). --speed measures the service's speed (speed.py) and
--load loads and soaks it (load.py) instead.
"""
from pathlib import Path

from handwriting import cli, config
from handwriting.bench import accuracy, load, speed, synth
from handwriting.bench.common import PROG


def parse_args(argv=None):
    parser = cli.Parser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="trained .keras model (default: $HANDWRITING_MODEL, else models/)")
    parser.add_argument("--data", help="Keras-layout mnist.npz (default: $HANDWRITING_MNIST, else download)")
    parser.add_argument("--n", type=int, default=100, help="synthetic images per kind (default: 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic images (default: 0)")
    parser.add_argument("--kinds", default=",".join(synth.KINDS), help="comma-separated synthetic kinds (default: all)")
    parser.add_argument("--realworld", type=Path, default=config.settings().realworld_dir, help="folder with labels.tsv and images/ (default: ../shared/realworld)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--markdown", action="store_true", help="print the table in Markdown, for the README")
    parser.add_argument("--speed", dest="mode", action="store_const", const="speed", help="measure the service's speed instead (issue #6)")
    # Shared by --speed and --load, with no default here: each mode resolves its own.
    parser.add_argument("--requests", type=cli.at_least(1), help="--speed: timed requests per image (50); --load: requests (2000)")
    parser.add_argument("--clients", type=cli.at_least(1), help="--speed: concurrent clients for requests/s (8); --load: clients (16)")
    speed.add_arguments(parser)
    parser.add_argument("--load", dest="mode", action="store_const", const="load", help="load and soak the service instead (issue #5)")
    load.add_arguments(parser)
    parser.set_defaults(mode="accuracy")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be positive")
    if args.seed < 0:
        parser.error("--seed must not be negative")
    args.kinds = [kind for kind in args.kinds.split(",") if kind]
    unknown = sorted(set(args.kinds) - set(synth.KINDS))
    if unknown:
        parser.error(f"unknown kind {', '.join(unknown)}; choose from {', '.join(synth.KINDS)}")
    if args.json:
        cli.check_writable(args.json)
    return args


MODES = {"accuracy": accuracy.run, "speed": speed.run, "load": load.run}


def main(argv=None):
    args = parse_args(argv)
    MODES[args.mode](args)


if __name__ == "__main__":
    main()
