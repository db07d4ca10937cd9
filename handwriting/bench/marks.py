"""`python -m handwriting.bench --marks` (issue #17): the pages of non-digit marks (pages/marks.py)
read through the engine, counting the pages that yield any digit shown at `CONFIDENT` or more: the
issue allows at most `TARGET` of them."""
import json
import statistics
import sys
from pathlib import Path

from handwriting.pages.marks import KINDS, generate

CONFIDENT = 0.5  # a digit shown at least this sure counts as read
TARGET = 0.05  # issue #17: at most this share of pages may yield such a digit


def confident_digits(reading):
    """The digits of a reading shown at CONFIDENT or more: what a page of marks must not yield."""
    return [d for d in reading.found if d.probability >= CONFIDENT]


def run_seed(engine, n, seed):
    """{kind: scores} of one seed: the share of pages yielding a confident digit, the digits found
    per page, the mean time, and the pages that yielded one (their index and digits)."""
    from handwriting.bench.accuracy import timed_read

    scores = {}
    for kind in KINDS:
        hits, found, ms = [], 0, 0.0
        for index in range(n):
            reading, elapsed = timed_read(engine, generate(kind, seed, index).image_bytes)
            confident = confident_digits(reading)
            found += len(reading.found)
            ms += elapsed
            if confident:
                hits.append({"index": index, "digits": "".join(str(d.digit) for d in confident)})
        scores[kind] = {"images": n, "yielding": len(hits) / n, "digits_per_image": found / n,
                        "ms_per_image": ms / n, "hits": hits}
        print(f"seed {seed} {kind}: {100 * len(hits) / n:.1f} % yield a digit", file=sys.stderr, flush=True)
    return scores


def table(report, markdown):
    """Per kind, the share of pages yielding a confident digit at each seed and on average."""
    from handwriting.bench import common

    seeds = [run["seed"] for run in report["runs"]]
    header = ("kind", "n", *(f"seed {seed}" for seed in seeds), "mean", "target", "digits/image", "ms/image")
    rows = []
    for kind in [*KINDS, "all"]:
        each = [run["kinds"][kind] for run in report["runs"]]
        rows.append((kind, str(sum(s["images"] for s in each)), *(f"{100 * s['yielding']:.1f} %" for s in each),
                     f"{100 * statistics.mean(s['yielding'] for s in each):.1f} %", f"≤ {100 * TARGET:.0f} %",
                     f"{statistics.mean(s['digits_per_image'] for s in each):.2f}",
                     f"{statistics.mean(s['ms_per_image'] for s in each):.0f}"))
    return common.table(header, rows, markdown, "|---|" + "---:|" * (len(header) - 1), right=True)


def run(args):
    """--marks: pages of non-digit marks read through the engine, per kind and seed."""
    from handwriting.bench.common import load_engine

    engine = load_engine(args.model)
    runs = []
    for seed in args.seeds:
        kinds = run_seed(engine, args.n, seed)
        kinds["all"] = {
            "images": sum(s["images"] for s in kinds.values()),
            **{key: statistics.mean(s[key] for s in kinds.values()) for key in ("yielding", "digits_per_image", "ms_per_image")},
        }
        runs.append({"seed": seed, "kinds": kinds})
    report = {"model": str(engine.path), "n": args.n, "confident": CONFIDENT, "target": TARGET, "runs": runs}
    print(f"pages of non-digit marks yielding a digit shown at ≥ {CONFIDENT} (issue #17); model {Path(report['model']).name}\n")
    print(table(report, args.markdown))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
