"""`python -m handwriting.bench --orand`: the engine on real cheque amounts (issue #15).

Reads the ORAND-CAR-A validation strings, the fixed 20 % split by image id that nothing is ever
trained or tuned on (handwriting.training.datasets.orand_strings), each PNG-encoded in memory and
read through the Recognizer's normal read path, and reports whole-string accuracy, digit accuracy
(1 - edit distance / length) and ms per string. Labels are digits only, one line, so the reading's
digits (Reading.digits_text) are compared, line breaks dropped, as for the real-world folder.
"""
import json

from handwriting import cli
from handwriting.bench import accuracy
from handwriting.bench.common import PROG, load_engine
from handwriting.pages.camera import png

TARGET = 0.90  # issue #15's whole-string target on this split


def read_strings(engine, strings):
    """One accuracy.Result per OrandString, named by its image id."""
    return [accuracy.read(engine, s.image_id, png(s.image), s.label, flat=True) for s in strings]


def validation(root=None):
    """The validation strings, or a one-line exit when the data cannot be read."""
    from handwriting.training import datasets

    try:
        return datasets.orand_strings(root or datasets.default_root())[1]
    except (OSError, KeyError, ValueError) as error:
        cli.fail(f"ORAND-CAR-A cannot be loaded: {error}", PROG)


def run(args):
    """--orand: whole strings read exactly on the validation split (the first --n strings, when given)."""
    from handwriting.training import datasets

    strings = validation()[:args.n]
    engine = load_engine(args.model)
    report = {
        "model": str(engine.path),
        "split": {"share": datasets.ORAND_VALIDATION, "seed": datasets.ORAND_SEED},
        "validation": accuracy.scored(read_strings(engine, strings), TARGET),
    }
    print(accuracy.table([("ORAND-CAR-A validation", report["validation"])], args.markdown, "strings"))
    failures = report["validation"]["failures"]
    if failures:
        print(f"\n{len(failures)} misread; --json lists them (image id, expected, got)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
