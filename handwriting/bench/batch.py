"""Batch throughput (issue #19): a folder of images composed by the stress generator, read by one
process, by worker processes and by a local Dask cluster of as many workers, each as a whole run
from its first model load to its last result, which is what a user waits for."""
import json
import sys
import tempfile
import time
from pathlib import Path

from handwriting import config
from handwriting.batch import inputs, run as batch_run
from handwriting.pages import stress
from handwriting.bench.accuracy import stress_digits
from handwriting.bench.common import table

MIXED = tuple(c for c in stress.CONDITIONS if c not in stress.TURNED)  # a realistic mix of uploads


def compose(folder, digits, n, seed):
    """`n` images, the conditions taken in turn, named for theirs; PNG or JPEG as the condition encodes."""
    for index in range(n):
        condition = MIXED[index % len(MIXED)]
        sample = stress.generate(condition, digits, seed, index // len(MIXED))
        suffix = ".jpg" if sample.image_bytes[:2] == b"\xff\xd8" else ".png"
        (folder / f"{index:05d}-{condition}{suffix}").write_bytes(sample.image_bytes)


def timed(items, model, **how):
    """(seconds, readings that failed) of reading every item."""
    started = time.perf_counter()
    failed = sum(not record["success"] for record in batch_run.results(items, model, **how))
    return time.perf_counter() - started, failed


def run(args):
    digits = stress_digits(args.data)
    model = str(args.model or config.settings().model_path)
    with tempfile.TemporaryDirectory(prefix="digit-batch-") as folder:
        compose(Path(folder), digits, args.n, args.seed)
        items = inputs.expand([folder], config.settings())
        results = {"one process": timed(items, model), f"--workers {args.workers}": timed(items, model, workers=args.workers)}
        with batch_run.local_cluster(args.workers) as cluster:
            results[f"Dask, {args.workers} local workers"] = timed(items, model, cluster=cluster.scheduler_address)
    single = results["one process"][0]
    rows = [[name, f"{len(items):,}", f"{seconds:.1f}", f"{len(items) / seconds:.1f}", f"{single / seconds:.2f}x", str(failed)]
            for name, (seconds, failed) in results.items()]
    print(table(["reader", "images", "s", "images/s", "vs one", "failed"], rows, args.markdown, "|---|---:|---:|---:|---:|---:|", right=True))
    if args.json:
        report = {"n": len(items), "seed": args.seed, "workers": args.workers,
                  "runs": {name: {"seconds": s, "failed": f} for name, (s, f) in results.items()}}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{len(items)} images from {len(MIXED)} stress conditions, seed {args.seed}", file=sys.stderr)
