import json

from handwriting.batch import output


def test_jsonl_records_append_one_per_line_and_resume_knows_them(tmp_path):
    path = tmp_path / "out.jsonl"
    with output.Writer(path) as writer:
        writer.write(output.record("a.png", {"text": "12", "count": 2}))
        writer.write(output.record("b.png", error=("corrupt_image", "broken")))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [{"file": "a.png", "success": True, "text": "12", "count": 2},
                     {"file": "b.png", "success": False, "error": {"code": "corrupt_image", "message": "broken"}}]
    assert output.done(path) == {"a.png", "b.png"}


def test_a_partial_last_line_is_cut_and_not_counted_as_done(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"file": "a.png", "success": true}\n{"file": "b.p')
    assert output.done(path) == {"a.png"}
    assert path.read_text() == '{"file": "a.png", "success": true}\n'


def test_csv_has_one_header_and_a_row_per_input_with_its_error(tmp_path):
    path = tmp_path / "out.csv"
    for name in ("a.png", "b.png"):
        with output.Writer(path) as writer:
            result = output.record(name, {"text": "1,5", "digits_text": "15", "confidence": 0.9, "count": 2}) \
                if name == "a.png" else output.record(name, error=("not_an_image", "no"))
            writer.write(result)
    rows = path.read_text().splitlines()
    assert rows[0] == ",".join(output.CSV_COLUMNS)
    assert rows[1:] == ['a.png,"1,5",15,0.9,2,,', "b.png,,,,,not_an_image,no"]
    assert output.done(path) == {"a.png", "b.png"}


def test_nothing_is_done_before_the_first_run(tmp_path):
    assert output.done(tmp_path / "none.jsonl") == set()
