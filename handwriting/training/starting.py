"""`--init`, as every trainer takes it: going on from a model already trained."""
from handwriting import cli
from handwriting.engine import model_io


def check_seed(parser, init, seed):
    """Refuse a `seed` other than the one `init` was trained with: that seed chose the held-out
    digits its training was judged on, which a new one would learn from."""
    started = model_io.metadata(init).get("seed") if init else None
    if started is not None and started != seed:
        parser.error(f"--seed {seed}: {init.name} was trained with --seed {started}, whose held-out "
                     f"digits the new one would learn from; go on with --seed {started}")


def load(init):
    """The model at `init` to go on training, or a one-line exit."""
    try:
        return model_io.load(init)
    except Exception as error:
        cli.fail(f"--init {init} cannot be loaded: {type(error).__name__}")
