"""ZIP bytes to named image bytes, in memory, or a typed refusal decided from the central directory
before anything is decompressed: a ZIP bomb costs the reading of its directory.

Entry names are labels for the answer, never paths: nothing is written anywhere. Folders and the
resource forks macOS adds (`__MACOSX/`, `._name`) are skipped; any other entry is handed on, and a
file that is not an image is the decoder's to refuse, for that entry alone.
"""
import io
import zipfile
from dataclasses import dataclass

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or the end record of an empty ZIP


class ArchiveError(Exception):
    """A refusal of the whole ZIP; `code` is stable and machine-readable, the message for people."""

    code = "bad_zip"


class TooManyEntries(ArchiveError):
    code = "too_many_files"


class TooLarge(ArchiveError):
    code = "zip_too_large"


class Bomb(ArchiveError):
    code = "zip_bomb"


class UnsafeName(ArchiveError):
    code = "unsafe_entry_name"


@dataclass(frozen=True)
class Entry:
    name: str
    data: bytes | None  # None when the entry could not be read; `error` says why
    error: str = ""


def is_zip(data):
    return data[:4] in ZIP_MAGIC


def _skipped(info):
    base = info.filename.rsplit("/", 1)[-1]
    return info.is_dir() or info.filename.startswith("__MACOSX/") or base.startswith("._")


def _unsafe(name):
    """A name that would leave a folder it were unpacked in: absolute, a drive, or with `..`."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts or "\x00" in name


def entries(data, max_entries, max_bytes, max_ratio):
    """The ZIP's files as Entries, in the ZIP's order.

    max_entries: files per ZIP, the same bound as files per request.
    max_bytes: their total uncompressed size, as the directory declares it; zipfile stops an
        entry at its declared size, and its checksum then fails.
    max_ratio: uncompressed over compressed size, per entry: images compress little (PNG and JPEG
        about 1x, a blank BMP about 100x) while a bomb reaches DEFLATE's limit of about 1,000x.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [info for info in archive.infolist() if not _skipped(info)]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise ArchiveError(f"the ZIP cannot be read: {error}") from None
    if len(infos) > max_entries:
        raise TooManyEntries(f"the ZIP holds {len(infos):,} files; at most {max_entries:,} are read per request")
    unsafe = [info.filename for info in infos if _unsafe(info.filename)]
    if unsafe:
        raise UnsafeName(f"the ZIP has entry names that leave their folder, such as {unsafe[0]!r}")
    for info in infos:
        if info.file_size > max_ratio * max(info.compress_size, 1):
            raise Bomb(
                f"{info.filename!r} unpacks {info.file_size / max(info.compress_size, 1):,.0f} times its "
                f"packed size; at most {max_ratio:g} times is read"
            )
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        raise TooLarge(f"the ZIP's files unpack to {total:,} bytes; at most {max_bytes:,} are read")
    return [_read(archive, info) for info in infos]


def _read(archive, info):
    """One entry's bytes; an encrypted, damaged or oddly compressed entry is refused alone."""
    try:
        return Entry(info.filename, archive.read(info))
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, ValueError) as error:
        return Entry(info.filename, None, f"the entry cannot be unpacked: {error}")
