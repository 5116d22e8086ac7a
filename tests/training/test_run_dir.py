"""The run directory's start record: what --resume compares the new start with."""

from __future__ import annotations

import pytest

from stanceframe.errors import ConfigError, RunDirError
from stanceframe.training.run_dir import (
    START_FILE,
    StartRecord,
    check_resume,
    read_start,
    staging_dir,
    write_start,
)


def _record(learning_rate: float = 1e-3, rows: int = 34) -> StartRecord:
    return StartRecord(
        config={"task": "framing", "training": {"learning_rate": learning_rate, "threads": None}},
        data={"train": {"source": "train.jsonl", "sha256": "a" * 64, "rows": rows}},
    )


def test_a_start_record_reads_back_as_written(tmp_path):
    write_start(tmp_path, _record())
    assert read_start(tmp_path / START_FILE) == _record()


def test_resume_names_each_change_of_settings_and_data(tmp_path):
    run_dir = tmp_path / "run"
    staging_dir(run_dir).mkdir()
    write_start(staging_dir(run_dir), _record())
    assert check_resume(run_dir, _record(), force=False) == []
    with pytest.raises(ConfigError, match=r"training\.learning_rate 0\.001 -> 0\.0005"):
        check_resume(run_dir, _record(learning_rate=5e-4), force=False)
    warnings = check_resume(run_dir, _record(rows=35), force=True)
    assert warnings == [
        "resumed with --force-resume after changes: train data changed (rows 34 -> 35)"
    ]


@pytest.mark.parametrize(
    "content, problem",
    [
        ("[1, 2]", r"damaged, field '\(top level\)'"),
        ('{"config": {}}', r"damaged, field 'data': Field required"),
        ('{"config": 3, "data": {}}', r"damaged, field 'config'"),
        ('{"config": {', r"line 1: damaged, not valid JSON"),
    ],
)
def test_a_damaged_start_record_is_an_error_naming_the_file(tmp_path, content, problem):
    run_dir = tmp_path / "run"
    staging_dir(run_dir).mkdir()
    (staging_dir(run_dir) / START_FILE).write_text(content)
    with pytest.raises(RunDirError, match=rf"run\.partial/start\.json.*{problem}"):
        check_resume(run_dir, _record(), force=False)
