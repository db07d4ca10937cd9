"""Shared command-line behaviour: bad input is one line on stderr and exit code 2, never a traceback."""
import argparse
import sys


class Parser(argparse.ArgumentParser):
    def error(self, message):
        fail(message, prog=self.prog)


def at_least(minimum):
    """An argparse type: an integer no smaller than `minimum`."""
    def parse(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


def program():
    """How the user started us: `python -m handwriting.x` rather than a file path (a package's
    `__main__` is started by the package's name)."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    return f"python -m {spec.name.removesuffix('.__main__')}" if spec and spec.name else sys.argv[0]


def fail(message, prog=None):
    print(f"{prog or program()}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def check_writable(path):
    """Create the parent folder now, so that an unwritable --out fails before any work is done."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.parent / f".{path.name}.probe"
        probe.touch()
        probe.unlink()
    except OSError as error:
        fail(f"cannot write {path}: {error.strerror or error}")


def check_model_out(parser, out, force):
    """Refuse a model's `--out` that is not a .keras file, or that exists when `force` is not given."""
    if out.suffix != ".keras":
        parser.error("--out must end in .keras")
    if out.exists() and not force:
        parser.error(f"--out {out} exists; pass --force to replace it")
