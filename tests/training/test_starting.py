"""--init as every trainer takes it (handwriting.training.starting): the seed a model was trained
with, and a model that cannot be loaded, refused in one line."""
import argparse
import json

import pytest

from handwriting.training import starting


class Refused(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Refused(message)


def model_of_seed(folder, seed):
    path = folder / "start.keras"
    path.write_bytes(b"not read")
    path.with_suffix(".json").write_text(json.dumps({"seed": seed}))
    return path


def test_another_seed_than_the_models_is_refused(tmp_path):
    with pytest.raises(Refused, match="--seed 4: start.keras was trained with --seed 7.*go on with --seed 7"):
        starting.check_seed(Parser(), model_of_seed(tmp_path, 7), 4)


@pytest.mark.parametrize("recorded", [7, None])  # a card without a seed says nothing against it
def test_the_models_own_seed_or_none_recorded_is_accepted(tmp_path, recorded):
    starting.check_seed(Parser(), model_of_seed(tmp_path, recorded), 7)
    starting.check_seed(Parser(), None, 7)  # no --init: nothing to check


def test_a_model_that_cannot_be_loaded_ends_the_run_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        starting.load(model_of_seed(tmp_path, 7))
    assert stopped.value.code != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"--init {tmp_path / 'start.keras'} cannot be loaded: " in lines[0]
