"""Benchmark the reading engine: `python -m handwriting.bench` (see --help).

Scores whole numbers read exactly, per kind of synthetic image (handwriting.pages.synth, built from
MNIST test digits the model never trained on) and on the real-world folder, then times the two
reference images of issue #3 (accuracy.py). --stress scores the stress benchmark of issue #15 per
condition (stress.py, read by accuracy.py), --orand the ORAND-CAR-A validation strings (orand.py),
--marks counts the pages of non-digit marks that yield a confident digit (marks.py, issue #17),
--speed measures the service's speed (speed.py) and --load loads and soaks it (load.py) instead.
"""
from pathlib import Path

from handwriting import cli, config
from handwriting.bench import accuracy, batch, load, marks, orand, speed
from handwriting.bench.common import PROG
from handwriting.pages import stress, synth

IMAGES = 100  # --n of the synthetic kinds and of the stress conditions; --orand reads every string
BATCH_IMAGES = 1000  # --batch: enough for a throughput that start-up does not dominate


def numbers(text):
    """An argparse type: comma-separated integers of at least 0, e.g. seeds."""
    values = [cli.at_least(0)(part) for part in text.split(",") if part]
    if not values:
        raise ValueError("empty list")
    return values


def parse_args(argv=None):
    parser = cli.Parser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="trained .keras model (default: $HANDWRITING_MODEL, else models/)")
    parser.add_argument("--data", help="Keras-layout mnist.npz (default: $HANDWRITING_MNIST, else download)")
    parser.add_argument("--n", type=int, help=f"synthetic images per kind or stress condition (default: {IMAGES}); --orand: the first N strings (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic images (default: 0)")
    parser.add_argument("--stress", dest="mode", action="store_const", const="stress", help="score the stress benchmark per condition instead (issue #15): the digits, and for two numbers and separators also the numbers as written (#17)")
    parser.add_argument("--condition", help="--stress: comma-separated conditions (default: all)")
    parser.add_argument("--tuning", action="store_true", help="--stress: write the pages with held-out digits (MNIST's held-out training digits, USPS test, optdigits test), as the calibration fits do, to choose the engine's rules on; the benchmark's MNIST and ARDIS IV test digits stay for scoring")
    parser.add_argument("--seeds", type=numbers, help="--stress, --marks: comma-separated seeds, reported with their mean (default: --seed)")
    parser.add_argument("--combine", nargs="+", type=Path, metavar="JSON", help="--stress: print the mean of earlier --stress --json reports instead of reading")
    parser.add_argument("--orand", dest="mode", action="store_const", const="orand", help="score the ORAND-CAR-A validation strings instead (issue #15)")
    parser.add_argument("--marks", dest="mode", action="store_const", const="marks", help="count the pages of non-digit marks that yield a confident digit instead (issue #17; --n pages per kind)")
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
    parser.add_argument("--batch", dest="mode", action="store_const", const="batch", help=f"time batch reading by 1 process, --workers processes and a local Dask cluster instead (issue #19; --n images, default {BATCH_IMAGES})")
    parser.add_argument("--workers", type=cli.at_least(2), default=2, help="--batch: worker processes and Dask workers (default: 2)")
    load.add_arguments(parser)
    parser.set_defaults(mode="accuracy")
    args = parser.parse_args(argv)
    if args.n is not None and args.n < 1:
        parser.error("--n must be positive")
    if args.n is None and args.mode != "orand":
        args.n = BATCH_IMAGES if args.mode == "batch" else IMAGES
    if args.seed < 0:
        parser.error("--seed must not be negative")
    if args.mode != "stress" and (args.condition is not None or args.combine or args.tuning):
        parser.error("--condition, --combine and --tuning go with --stress")
    if args.mode not in ("stress", "marks") and args.seeds:
        parser.error("--seeds goes with --stress or --marks")
    args.kinds = choose(parser, "kind", args.kinds, synth.KINDS)
    args.conditions = choose(parser, "condition", args.condition or ",".join(stress.CONDITIONS), stress.CONDITIONS)
    if not args.conditions:
        parser.error("--condition names no condition")
    args.seeds = args.seeds or [args.seed]
    if args.json:
        cli.check_writable(args.json)
    return args


def choose(parser, what, text, known):
    """The names of a comma-separated list, each one of `known`."""
    names = [name for name in text.split(",") if name]
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"unknown {what} {', '.join(unknown)}; choose from {', '.join(known)}")
    return names


MODES = {"accuracy": accuracy.run, "stress": accuracy.run_stress, "orand": orand.run, "speed": speed.run, "load": load.run, "batch": batch.run,
         "marks": marks.run}


def main(argv=None):
    args = parse_args(argv)
    MODES[args.mode](args)


if __name__ == "__main__":
    main()
