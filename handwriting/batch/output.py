"""Where a batch's results go: JSON lines (each reading whole) or CSV (one row per input), written
as each result arrives, so that an interrupted run keeps what it read and `--resume` reads the rest."""
import csv
import json
from pathlib import Path

CSV_COLUMNS = ("file", "text", "digits_text", "confidence", "count", "error_code", "error_message")


def record(file, reading=None, error=None):
    """A result as one JSON-ready dict: the reading's fields, or `error` as (code, message)."""
    if error is not None:
        return {"file": file, "success": False, "error": {"code": error[0], "message": error[1]}}
    return {"file": file, "success": True, **reading}


def done(path):
    """Files already in an output file, and the file cut back to its last whole line: a run killed
    mid-write leaves at most one partial line."""
    path = Path(path)
    if not path.is_file():
        return set()
    data = path.read_bytes()
    whole = data[: data.rfind(b"\n") + 1]
    if len(whole) < len(data):
        path.write_bytes(whole)
    text = whole.decode("utf-8")
    if path.suffix.lower() == ".csv":
        return {row["file"] for row in csv.DictReader(text.splitlines()) if row.get("file")}
    return {json.loads(line)["file"] for line in text.splitlines() if line.strip()}


class Writer:
    """Appends records to a .csv or a JSON-lines file, flushing each, with the CSV header once."""

    def __init__(self, path):
        self.path = Path(path)
        self.csv = self.path.suffix.lower() == ".csv"
        new = not self.path.is_file() or self.path.stat().st_size == 0
        self.stream = self.path.open("a", encoding="utf-8", newline="")
        self.rows = csv.DictWriter(self.stream, CSV_COLUMNS, extrasaction="ignore") if self.csv else None
        if self.csv and new:
            self.rows.writeheader()

    def write(self, result):
        if self.csv:
            error = result.get("error") or {}
            self.rows.writerow({**result, "error_code": error.get("code", ""), "error_message": error.get("message", "")})
        else:
            self.stream.write(json.dumps(result, ensure_ascii=False) + "\n")
        self.stream.flush()

    def close(self):
        self.stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
