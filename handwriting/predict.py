"""Read the numbers in image files: `python -m handwriting.predict INPUT [INPUT ...]`.

An input is a file, a folder (its images and ZIPs, recursively), a glob or a ZIP. Prints the numbers
read per image, as written (the whole Reading as JSON with --json), or writes them to --jsonl/--csv
with a progress bar, read by --workers processes or on a Dask --cluster. An image that cannot be
read gets a one-line error (or its error record) and exit code 2, and the other images are still read.
"""
import argparse
import importlib.util
import json
import sys
from pathlib import Path

from handwriting import cli, config
from handwriting.engine.model_io import scan

LABEL_HEIGHT = 0.45  # a label's text height, as a share of the median digit's height on the overlay
MIN_FONT_SCALE = 0.4  # OpenCV's font scale below which a label stops being readable (about 9 px tall)


def parse_args(argv=None):
    parser = cli.Parser(prog="python -m handwriting.predict", description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders, globs (quoted) or ZIPs")
    parser.add_argument("--model", type=model_path, metavar="NAME|PATH",
                        help="a model name as GET /api/models lists them (the .keras files in models/), or the "
                             "path of a .keras file (default: the shipped model, $HANDWRITING_MODEL)")
    parser.add_argument("--json", action="store_true", help="print each Reading as JSON")
    parser.add_argument("--overlay", type=Path, help="PNG with boxes and digits drawn over the image")
    parser.add_argument("--plot", type=Path, help="PNG bar chart of each digit's probabilities")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--jsonl", type=Path, metavar="OUT", help="append one JSON line per input to OUT, instead of printing")
    out.add_argument("--csv", type=Path, metavar="OUT", help="append one CSV row per input to OUT, instead of printing")
    parser.add_argument("--resume", action="store_true", help="skip the inputs already in the --jsonl/--csv file")
    parser.add_argument("--workers", type=cli.at_least(1), default=1,
                        help="processes that read, each loading the model once (default: 1, this process)")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="read on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786); its "
                             "workers need this package, and the model at the same path")
    args = parser.parse_args(argv)
    args.out = args.jsonl or args.csv
    if args.resume and not args.out:
        parser.error("--resume needs --jsonl or --csv")
    if (args.overlay or args.plot) and (args.workers > 1 or args.cluster):
        parser.error("--overlay and --plot draw in this process: leave out --workers and --cluster")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        parser.error("--plot needs matplotlib, which serving leaves out: .venv/bin/pip install -r requirements-train.txt")
    if args.out:
        cli.check_writable(args.out)
    return args


def model_path(value):
    """--model: a .keras file, else a name from the models folder, as the API takes them."""
    settings = config.settings()
    if Path(value).is_file():
        return Path(value)
    named = scan(settings.models_dir, settings.model_path)
    if value in named:
        return named[value]
    names = ", ".join(named) or f"none in {settings.models_dir}"
    raise argparse.ArgumentTypeError(f"{value!r} is neither a model name ({names}) nor a .keras file")


def per_image(path, name, count):
    """With several images, OUT.png becomes OUT-<image>.png so that nothing is overwritten."""
    return path if count == 1 else path.with_name(f"{path.stem}-{Path(name).stem}{path.suffix}")


def _shared(a, b):
    """The area two rectangles (left, top, right, bottom) share."""
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def label_places(boxes, sizes, width, height):
    """Where each box's label goes on a width x height canvas: (variant, rectangle) or None.

    `boxes` are (left, top, right, bottom); `sizes` gives each label's variants, longest first, as
    (width, height). A label is tried above its box, below it and over its top, centred on the box
    and slid along it, always whole within the canvas and never over another label; of those
    places, the one that hides the least of any box wins, the longer variant and the earlier place
    on ties. A label with no such place is left out: its box still shows the digit's place."""
    placed, answer = [], []
    for left, top, right, bottom in boxes:
        spots = []
        for variant, (w, h) in enumerate(sizes[len(answer)]):
            if w > width or h > height:
                continue
            for y in [y for y in (top - h, bottom) if 0 <= y <= height - h] + [min(top, height - h)]:
                for x in ((left + right - w) // 2, left, right - w):
                    x = min(max(x, 0), width - w)
                    spots.append((variant, (x, y, x + w, y + h)))
        free = [spot for spot in spots if not any(_shared(spot[1], label) for label in placed)]
        chosen = min(free, key=lambda spot: sum(_shared(spot[1], box) for box in boxes), default=None)
        if chosen is not None:
            placed.append(chosen[1])
        answer.append(chosen)
    return answer


def draw_overlay(rgb, reading, path):
    """The image with a box per digit and a label with the digit and its probability, each label
    readable: on a lightened patch, never over another label, never cut by the image's edge."""
    import cv2
    import numpy as np

    canvas = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    height, width = canvas.shape[:2]
    scale = width / reading.width
    thickness = max(1, round(max(height, width) / 400))
    boxes = [(round(d.box.x * scale), round(d.box.y * scale), round((d.box.x + d.box.width) * scale),
              round((d.box.y + d.box.height) * scale)) for d in reading.digits]
    for left, top, right, bottom in boxes:
        cv2.rectangle(canvas, (left, top), (right, bottom), (40, 40, 220), thickness)
    median = float(np.median([bottom - top for _, top, _, bottom in boxes])) if boxes else 0.0
    font, font_scale = cv2.FONT_HERSHEY_SIMPLEX, max(MIN_FONT_SCALE, LABEL_HEIGHT * median / 22)  # 22 px at scale 1
    stroke, pad = max(1, round(font_scale)), max(2, round(3 * font_scale))
    texts = [(f"{d.digit} {d.probability:.0%}", str(d.digit)) for d in reading.digits]

    def size(text):
        (w, h), base = cv2.getTextSize(text, font, font_scale, stroke)
        return w + 2 * pad, h + base + 2 * pad

    places = label_places(boxes, [[size(text) for text in variants] for variants in texts], width, height)
    for variants, place in zip(texts, places):
        if place is None:
            continue
        variant, (x0, y0, x1, y1) = place
        canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] // 3 + 170  # lightened, so that ink below still shows
        base = cv2.getTextSize(variants[variant], font, font_scale, stroke)[1]
        cv2.putText(canvas, variants[variant], (x0 + pad, y1 - pad - base), font, font_scale, (30, 140, 30),
                    stroke, cv2.LINE_AA)
    if not cv2.imwrite(str(path), canvas):
        raise OSError(f"cannot write {path}")


def draw_plot(reading, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = max(1, len(reading.digits))
    figure, axes = plt.subplots(2, count, figsize=(1.6 * count + 1, 3.6), squeeze=False,
                                gridspec_kw={"height_ratios": [1, 1.4]})
    for i in range(count):
        crop_axis, bar_axis = axes[0][i], axes[1][i]
        crop_axis.axis("off")
        if i >= len(reading.digits):
            bar_axis.axis("off")
            continue
        digit = reading.digits[i]
        probabilities = [0.0] * 10
        probabilities[digit.digit] = digit.probability
        for other, p in digit.alternatives:
            probabilities[other] = p
        crop_axis.imshow(digit.crop, cmap="gray")
        crop_axis.set_title(f"{digit.digit} ({digit.probability:.0%})", fontsize=9)
        bar_axis.bar(range(10), probabilities, color=["#d9480f" if d == digit.digit else "#868e96" for d in range(10)])
        bar_axis.set_xticks(range(10))
        bar_axis.set_ylim(0, 1)
        bar_axis.tick_params(labelsize=7)
    figure.suptitle(f"read: {reading.text or '(no digits)'}".replace("\n", " / "), fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def read_here(items, args):
    """Records of the inputs read in this process, drawing --overlay and --plot on the way."""
    from handwriting.batch import inputs, output
    from handwriting.engine import decoding
    from handwriting.engine.limits import TooComplex
    from handwriting.engine.recognition import Recognizer

    try:
        engine = Recognizer(args.model)
    except Exception as error:
        cli.fail(f"cannot load the model: {type(error).__name__}")
    for item in items:
        try:
            decoded = engine.decode(inputs.load(item))
            reading = engine.read_decoded(decoded)
            if args.overlay:
                draw_overlay(decoded.image, reading, per_image(args.overlay, item.name, len(items)))
            if args.plot:
                draw_plot(reading, per_image(args.plot, item.name, len(items)))
        except OSError as error:
            yield output.record(item.name, error=("unreadable_file", error.strerror or str(error)))
        except (decoding.DecodeError, TooComplex) as error:
            yield output.record(item.name, error=(error.code, str(error)))
        else:
            yield output.record(item.name, reading.to_dict())


def main(argv=None):
    args = parse_args(argv)
    from handwriting.batch import inputs, output, run

    items = inputs.expand(args.inputs, config.settings())
    if args.resume:
        done = output.done(args.out)
        print(f"{len(done):,} inputs already in {args.out}; reading the other {sum(i.name not in done for i in items):,}",
              file=sys.stderr)
        items = [item for item in items if item.name not in done]
    if args.workers > 1 or args.cluster:
        records = run.results(items, args.model, args.workers, args.cluster)
    else:
        records = read_here(items, args)
    if args.out:
        return write(records, items, args.out)
    failed = False
    for record in records:
        if not record["success"]:
            print(f"{cli.program()}: error: {record['file']}: {record['error']['message']}", file=sys.stderr)
            failed = True
        elif args.json:
            print(json.dumps({key: value for key, value in record.items() if key != "success"}), flush=True)
        else:
            print(f"{record['file']}: {record['text'].replace(chr(10), ' / ') or '(no digits found)'}", flush=True)
    return 2 if failed else 0


def write(records, items, path):
    """Append every record to `path` as it arrives, with a progress bar (rate, ETA) on a terminal."""
    from tqdm import tqdm

    from handwriting.batch import output

    failed = 0
    with output.Writer(path) as writer:
        for record in tqdm(records, total=len(items), unit="image", file=sys.stderr, disable=None):
            writer.write(record)
            failed += not record["success"]
    print(f"{len(items):,} inputs read into {path}, {failed:,} with an error", file=sys.stderr)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
