"""Every benchmark image's reading, to check that a change of structure changes no reading.

Reads each synthetic benchmark image (handwriting.pages.synth, `--n` per kind at `--seed`) and
every image of the real-world folder, and writes per image the text, and per digit its box, line,
probability, alternatives (rounded to 4 places) and a hash of its 28x28 crop, as JSON. Run it
before and after a change from the repository root (`python -m scripts.compare_readings --out
before.json`), then compare the two files: `cmp before.json after.json`.
"""
import argparse
import csv
import hashlib
import json
from pathlib import Path

from handwriting import config
from handwriting.pages import synth
from handwriting.engine.recognition import Recognizer
from handwriting.training import data


def describe(reading):
    return {
        "text": reading.text,
        "size": [reading.width, reading.height],
        "digits": [
            {"digit": d.digit, "p": round(d.probability, 4), "line": d.line,
             "box": [d.box.x, d.box.y, d.box.width, d.box.height],
             "alternatives": [[a, round(p, 4)] for a, p in d.alternatives],
             "crop": hashlib.sha1(d.crop.tobytes()).hexdigest()[:12]}
            for d in reading.digits
        ],
    }


def readings(engine, mnist, n, seed, realworld):
    """{"kind/index" or "realworld/file": the reading described}."""
    found = {}
    for kind in synth.KINDS:
        for index in range(n):
            sample = synth.generate(kind, mnist.x_test, mnist.y_test, seed, index)
            found[f"{kind}/{index}"] = describe(engine.read(sample.data))
    with (realworld / "labels.tsv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            found[f"realworld/{row['file']}"] = describe(engine.read((realworld / "images" / row["file"]).read_bytes()))
    return found


def main():
    settings = config.settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=settings.mnist_path, help="mnist.npz (default: $HANDWRITING_MNIST)")
    parser.add_argument("--realworld", type=Path, default=settings.realworld_dir)
    parser.add_argument("--model", type=Path, default=settings.model_path)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    found = readings(Recognizer(args.model), data.load(args.data), args.n, args.seed, args.realworld)
    args.out.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"{len(found)} images read into {args.out}")


if __name__ == "__main__":
    main()
