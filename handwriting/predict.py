"""Read the numbers in image files: `python -m handwriting.predict IMAGE [IMAGE ...]`.

Prints the number read per image (the whole Reading as JSON with --json). An image that cannot
be read gets a one-line error and exit code 2, and the other images are still read.
"""
import json
import sys
from pathlib import Path

from handwriting import cli


def parse_args(argv=None):
    parser = cli.Parser(prog="python -m handwriting.predict", description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--model", type=Path, help="Keras model (default: the shipped one)")
    parser.add_argument("--json", action="store_true", help="print each Reading as JSON")
    parser.add_argument("--overlay", type=Path, help="PNG with boxes and digits drawn over the image")
    parser.add_argument("--plot", type=Path, help="PNG bar chart of each digit's probabilities")
    return parser.parse_args(argv)


def per_image(path, image, count):
    """With several images, OUT.png becomes OUT-<image>.png so that nothing is overwritten."""
    return path if count == 1 else path.with_name(f"{path.stem}-{image.stem}{path.suffix}")


def draw_overlay(rgb, reading, path):
    import cv2

    canvas = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    scale = canvas.shape[1] / reading.width
    thickness = max(1, round(max(canvas.shape[:2]) / 400))
    for digit in reading.digits:
        box = digit.box
        top_left = (round(box.x * scale), round(box.y * scale))
        bottom_right = (round((box.x + box.width) * scale), round((box.y + box.height) * scale))
        cv2.rectangle(canvas, top_left, bottom_right, (40, 40, 220), thickness)
        label = f"{digit.digit} {digit.probability:.0%}"
        size = max(0.4, box.height * scale / 80)
        cv2.putText(canvas, label, (top_left[0], max(12, top_left[1] - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    size, (30, 140, 30), thickness, cv2.LINE_AA)
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


def main(argv=None):
    args = parse_args(argv)
    from handwriting.engine import decoding
    from handwriting.engine.recognition import Recognizer

    try:
        engine = Recognizer(args.model)
    except Exception as error:
        cli.fail(f"cannot load the model: {type(error).__name__}")
    failed = False
    for image in args.images:
        try:
            decoded = decoding.decode(image.read_bytes(), engine.settings.max_pixels, engine.settings.working_side)
            reading = engine.read_decoded(decoded)
            if args.overlay:
                draw_overlay(decoded.image, reading, per_image(args.overlay, image, len(args.images)))
            if args.plot:
                draw_plot(reading, per_image(args.plot, image, len(args.images)))
        except (OSError, decoding.DecodeError) as error:
            print(f"{cli.program()}: error: {image}: {getattr(error, 'strerror', None) or error}", file=sys.stderr)
            failed = True
            continue
        if args.json:
            print(json.dumps({"file": str(image), **reading.to_dict()}))
        else:
            print(f"{image}: {reading.text.replace(chr(10), ' / ') or '(no digits found)'}")
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
