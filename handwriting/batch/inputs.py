"""What a batch reads: command-line arguments expanded to named inputs, in a stable order.

A file is read as given; a folder gives its image files and ZIPs, recursively, sorted; an argument
that is no file but has glob characters is expanded (`**` included); a ZIP gives its entries,
named `ZIP/entry` and read within the settings' archive limits, whether it was named or found."""
import glob
from dataclasses import dataclass
from pathlib import Path

from handwriting.engine import archive, decoding

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".ppm", ".pgm", ".pbm", ".mpo"}
)


class InputError(decoding.DecodeError):
    """An input refused before decoding: missing, or a ZIP (or entry) that cannot be read."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Input:
    name: str  # what the output calls it: the path as found, or ZIP/entry
    path: Path | None = None  # read by whoever reads it, so that a worker loads its own bytes
    data: bytes | None = None  # a ZIP entry's bytes
    error: tuple = ()  # (code, message) when the input cannot be read at all


def _found(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | {".zip"})


def _paths(argument):
    path = Path(argument)
    if path.is_dir():
        return _found(path)
    if path.exists():
        return [path]
    if not glob.has_magic(argument):
        return []
    return sorted(Path(p) for p in glob.glob(argument, recursive=True) if Path(p).is_file())


def _zip(path, settings):
    try:
        entries = archive.entries(path.read_bytes(), settings.max_files, settings.max_zip_bytes, settings.max_zip_ratio)
    except archive.ArchiveError as error:
        return [Input(str(path), error=(error.code, str(error)))]
    return [
        Input(f"{path}/{entry.name}", data=entry.data, error=() if entry.data is not None else ("bad_zip", entry.error))
        for entry in entries
    ]


def expand(arguments, settings):
    """Every input the arguments name, once each, in the order given; an argument that matches
    nothing is an input of its own whose error says so."""
    seen, inputs = set(), []
    for argument in arguments:
        paths = _paths(str(argument))
        if not paths:
            inputs.append(Input(str(argument), error=("not_found", "no file matches")))
        for path in paths:
            if path in seen:
                continue
            seen.add(path)
            if path.is_file() and (path.suffix.lower() == ".zip" or _starts_zip(path)):
                inputs.extend(_zip(path, settings))
            else:
                inputs.append(Input(str(path), path=path))
    return inputs


def _starts_zip(path):
    try:
        with path.open("rb") as stream:
            return archive.is_zip(stream.read(4))
    except OSError:
        return False


def load(item):
    """The input's bytes; raises OSError or decoding.DecodeError as reading a file would."""
    if item.error:
        raise InputError(*item.error)
    if item.data is not None:
        return item.data
    return item.path.read_bytes()
