"""How accuracy falls as the test digits are distorted: noise, blur, rotation, shift, scale and
strokes thickened or thinned, each at several strengths. Pure functions over uint8 (N, 28, 28)
batches, so that every model sees exactly the same distorted images.
"""
import cv2
import numpy as np

CENTRE = (13.5, 13.5)


def noise(images, sigma, seed=0):
    """Gaussian noise with standard deviation `sigma` (in [0, 1] intensity units)."""
    rng = np.random.default_rng(seed)
    noisy = images.astype(np.float32) + rng.normal(0, sigma * 255, images.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def blur(images, sigma):
    return np.stack([cv2.GaussianBlur(image, (0, 0), sigma) for image in images])


def _warp(images, matrices):
    return np.stack([cv2.warpAffine(image, m, (28, 28), flags=cv2.INTER_LINEAR, borderValue=0)
                     for image, m in zip(images, matrices)])


def rotate(images, degrees, seed=0):
    """Each image turned by `degrees`, clockwise or anticlockwise at random."""
    signs = np.random.default_rng(seed).choice([-1, 1], len(images))
    return _warp(images, [cv2.getRotationMatrix2D(CENTRE, float(s * degrees), 1.0) for s in signs])


def shift(images, pixels, seed=0):
    """Each image moved `pixels` in a random direction."""
    angles = np.random.default_rng(seed).uniform(0, 2 * np.pi, len(images))
    return _warp(images, [np.float32([[1, 0, pixels * np.cos(a)], [0, 1, pixels * np.sin(a)]]) for a in angles])


def scale(images, factor):
    """Each image zoomed about its centre; above 1 the digit may leave the field, as it would."""
    return _warp(images, [cv2.getRotationMatrix2D(CENTRE, 0.0, factor)] * len(images))


def thicken(images, size):
    return np.stack([cv2.dilate(image, np.ones((size, size), np.uint8)) for image in images])


def thin(images, size):
    return np.stack([cv2.erode(image, np.ones((size, size), np.uint8)) for image in images])


# name: (function, the strength that leaves an image as it is, the strengths measured)
DISTORTIONS = {
    "noise (sigma)": (noise, 0, (0.1, 0.2, 0.3, 0.4)),
    "blur (sigma, px)": (blur, 0, (0.5, 1.0, 1.5, 2.0)),
    "rotation (degrees)": (rotate, 0, (10, 20, 30, 45)),
    "shift (px)": (shift, 0, (2, 4, 6)),
    "scale (factor)": (scale, 1, (0.5, 0.7, 1.3)),
    "thickening (kernel, px)": (thicken, 1, (2, 3, 4)),
    "thinning (kernel, px)": (thin, 1, (2, 3)),
}


def conditions():
    """(distortion, strength, function) for the clean images and every distortion and strength."""
    yield "clean", None, lambda images: images
    for name, (function, _, strengths) in DISTORTIONS.items():
        for strength in strengths:
            yield name, strength, lambda images, f=function, s=strength: f(images, s)


def measure(models, images, labels, predict):
    """Rows {distortion, strength, <model name>: accuracy} for {name: model}; `predict(model, images)`
    gives the ten digit probabilities."""
    rows = []
    for name, strength, distort in conditions():
        distorted = distort(images)
        row = {"distortion": name, "strength": strength}
        for model_name, model in models.items():
            row[model_name] = float((predict(model, distorted).argmax(1) == labels).mean())
        rows.append(row)
    return rows


def table(rows, names):
    """The rows as a Markdown table, accuracy in percent."""
    head = "| distortion | strength | " + " | ".join(names) + " |"
    rule = "|---|---:|" + "---:|" * len(names)
    lines = [head, rule]
    for row in rows:
        strength = "" if row["strength"] is None else f"{row['strength']:g}"
        lines.append(f"| {row['distortion']} | {strength} | " + " | ".join(f"{100 * row[n]:.2f}" for n in names) + " |")
    return "\n".join(lines) + "\n"


def plot(rows, names, path):
    """One panel per distortion: accuracy against strength, one line per model, from the clean images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clean = next(row for row in rows if row["strength"] is None)
    figure, axes = plt.subplots(2, 4, figsize=(16, 7), layout="constrained")
    for axis, distortion in zip(axes.flat, DISTORTIONS):
        chosen = [row for row in rows if row["distortion"] == distortion]
        identity = DISTORTIONS[distortion][1]
        for name in names:
            axis.plot([identity] + [r["strength"] for r in chosen], [100 * clean[name]] + [100 * r[name] for r in chosen],
                      marker="o", label=name)
        axis.set(title=distortion, ylabel="accuracy %", ylim=(0, 100))
        axis.grid(alpha=0.3)
    axes.flat[0].legend()
    axes.flat[-1].axis("off")
    figure.suptitle("Accuracy on distorted MNIST test digits")
    figure.savefig(path, dpi=90)
    plt.close(figure)
