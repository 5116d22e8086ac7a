"""Label Studio round trip: tasks and configs checked with label-studio-sdk's own parser, imports
of Label Studio JSON exports, and (opt-in) the whole loop against a real Label Studio server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stanceframe.annotation.labelstudio import labeling_config
from stanceframe.cli import app
from tests.conftest import FIXTURES

label_interface = pytest.importorskip("label_studio_sdk.label_interface")
LabelInterface = label_interface.LabelInterface
runner = CliRunner()
FRAMING = ["accusation", "denial", "diplomatic_proposal", "other"]

SENTENCES = [
    {
        "id": "a1",
        "text": "Moscow accused Kyiv of shelling the plant.",
        "source": "wire",
        "tags": ["x"],
    },
    {"id": "a2", "text": "The ministry denied the report.", "source": "wire", "tags": []},
    {"id": "a3", "text": "Seoul proposed talks with Pyongyang.", "source": "agency", "tags": []},
    {"id": "a4", "text": "Heavy rain flooded the valley.", "source": "agency", "tags": []},
    {
        "id": "a5",
        "text": "Critics blamed the regulator for the crash.",
        "source": "wire",
        "tags": [],
    },
    {
        "id": "a6",
        "text": "Officials rejected the claims as fabricated.",
        "source": "wire",
        "tags": [],
    },
]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def export_tasks(run: Path, tmp_path: Path, rows=SENTENCES, *extra) -> tuple[list, str]:
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    tasks_file = tmp_path / "tasks.json"
    result = runner.invoke(
        app,
        ["labelstudio", "export", str(run), str(source), "-o", str(tasks_file), *extra],
    )
    assert result.exit_code == 0, result.output
    return json.loads(tasks_file.read_text()), (tmp_path / "labeling.xml").read_text()


def check_with_sdk(tasks: list, config: str) -> LabelInterface:
    """Label Studio's own parser: the config is valid, every task has the data its objects read,
    and every pre-annotation is a valid result of the config's control."""
    from label_studio_sdk.label_interface.objects import TaskValue

    interface = LabelInterface(config)
    interface.validate()
    for task in tasks:
        TaskValue.model_validate(task)
        for tag in interface.objects:
            assert task["data"].get(tag.value_name) is not None, tag.value_name
        for prediction in task["predictions"]:
            assert interface.validate_prediction(prediction, return_errors=True) == []
    return interface


def choice(label, control="framing"):
    return {
        "from_name": control,
        "to_name": "text",
        "type": "choices",
        "value": {"choices": [label]},
    }


def annotation(number, who, labels, **fields):
    """An annotation as Label Studio's JSON export writes it."""
    return {
        "id": number,
        "completed_by": who,
        "result": [choice(label) for label in labels],
        "was_cancelled": False,
        "ground_truth": False,
        "created_at": f"2025-01-01T00:00:{number:02d}Z",
        "updated_at": f"2025-01-01T00:00:{number:02d}Z",
        "lead_time": 3.5,
        "task": 0,
        "project": 1,
        **fields,
    }


def as_export(tasks: list, annotations: dict[int, list]) -> list:
    """Exported tasks as Label Studio 1.23 writes them back (tests/fixtures/labelstudio_export.json
    is one it wrote): ids, annotations each with the prediction it started from, and the rest."""
    exported = []
    for index, task in enumerate(tasks):
        task_id = 100 + index
        prediction = dict(task["predictions"][0], id=index + 1, task=task_id, project=1)
        notes = [
            dict(note, task=task_id, prediction=prediction) for note in annotations.get(index, [])
        ]
        exported.append(
            {
                "id": task_id,
                "annotations": notes,
                "drafts": [],
                "predictions": [index + 1],
                "data": task["data"],
                "meta": {},
                "created_at": "2025-01-01T00:00:00Z",
                "inner_id": index + 1,
                "total_annotations": sum(not note["was_cancelled"] for note in notes),
                "cancelled_annotations": sum(note["was_cancelled"] for note in notes),
                "project": 1,
            }
        )
    return exported


# ------------------------------------------------------------------ export


def test_export_writes_tasks_and_config_that_label_studio_parses(framing_run, tmp_path):
    tasks, config = export_tasks(framing_run, tmp_path)
    interface = check_with_sdk(tasks, config)
    control = interface.get_control("framing")
    assert control.to_name == ["text"] and control.tag == "Choices"
    assert list(control.labels) == FRAMING
    assert len(tasks) == len(SENTENCES)
    for task, row in zip(tasks, SENTENCES, strict=True):
        assert {key: task["data"][key] for key in row} == row  # every input field in data
        prediction = task["predictions"][0]
        assert prediction["model_version"] == str(framing_run)
        assert 0 < prediction["score"] <= 1
        assert prediction["result"][0]["value"]["choices"][0] in FRAMING
    # the check can fail: a label the config does not have is refused by the same parser
    wrong = {"result": [choice("acusation")]}
    assert interface.validate_prediction(wrong, return_errors=True)


def test_export_of_a_stance_run_shows_the_target(stance_run, tmp_path):
    rows = [
        {"text": "The alliance keeps Europe safe.", "target": "NATO"},
        {"text": "Sanctions hurt ordinary people.", "target": "sanctions"},
    ]
    tasks, config = export_tasks(stance_run, tmp_path, rows)
    interface = check_with_sdk(tasks, config)
    assert {tag.name for tag in interface.objects} == {"text", "target"}
    assert [task["data"]["target"] for task in tasks] == ["NATO", "sanctions"]
    assert [task["data"]["id"] for task in tasks] == ["in:1", "in:2"]  # generated from lines
    assert tasks[0]["predictions"][0]["result"][0]["from_name"] == "stance"


def test_labeling_configs_for_context_and_multi_label_runs_are_valid():
    for options in ({"with_context": True}, {"multi_label": True}, {"with_target": True}):
        config = labeling_config(FRAMING, "framing", **options)
        LabelInterface(config).validate()
    assert 'choice="multiple"' in labeling_config(FRAMING, "framing", multi_label=True)
    assert "$previous_sentence" in labeling_config(FRAMING, "framing", with_context=True)


def test_export_refuses_a_field_that_would_hide_the_text(framing_run, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"sentence": "Kyiv denied it.", "text": "other"}])
    result = runner.invoke(
        app,
        [
            "labelstudio",
            "export",
            str(framing_run),
            str(source),
            "-o",
            str(tmp_path / "tasks.json"),
            "--text-column",
            "sentence",
        ],
    )
    assert result.exit_code == 2
    assert "in.jsonl line 1: the record has a field 'text'" in result.output
    result = runner.invoke(
        app, ["labelstudio", "export", str(framing_run), str(source), "-o", str(tmp_path / "t.csv")]
    )
    assert result.exit_code == 2 and "from a .json file" in result.output


# ------------------------------------------------------------------ import


def test_import_takes_the_majority_with_agreement(framing_run, tmp_path):
    tasks, config = export_tasks(framing_run, tmp_path)
    export = as_export(
        tasks,
        {
            0: [annotation(1, 7, ["accusation"]), annotation(2, 8, ["accusation"])],
            1: [
                annotation(3, 7, ["denial"]),
                annotation(4, 8, ["other"]),
                annotation(5, 9, ["denial"]),
            ],
            2: [annotation(6, 7, ["diplomatic_proposal"]), annotation(7, 8, ["other"])],  # tie
            3: [annotation(8, 7, ["other"], was_cancelled=True, result=[])],
            4: [
                annotation(9, 7, ["denial"]),
                annotation(10, 8, ["accusation"], ground_truth=True),
            ],
            # task 5: not annotated
        },
    )
    export_file = tmp_path / "project-1.json"
    export_file.write_text(json.dumps(export, indent=2))
    out = tmp_path / "labelled.jsonl"
    result = runner.invoke(
        app, ["labelstudio", "import", str(export_file), "-o", str(out), "--run", str(framing_run)]
    )
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in read_jsonl(out)}
    assert sorted(rows) == ["a1", "a2", "a5"]
    assert rows["a1"]["label"] == "accusation" and rows["a1"]["agreement"] == 1.0
    assert rows["a2"]["label"] == "denial" and rows["a2"]["agreement"] == pytest.approx(
        2 / 3, abs=1e-4
    )
    assert rows["a5"]["label"] == "accusation" and rows["a5"]["agreement"] == 0.5  # ground truth
    assert rows["a2"]["annotations"] == 3
    by_text = {row["text"]: row for row in SENTENCES}
    for row in rows.values():
        original = by_text[row["text"]]
        assert {key: row[key] for key in original} == original
    assert "1 cancelled (skipped) annotations left out" in result.output
    assert "tasks without an annotation: 103, 105" in result.output
    assert "1 tasks left out, their annotators split evenly: 102" in result.output

    summary = json.loads((tmp_path / "labelled.agreement.json").read_text())
    assert summary["tasks_with_several_annotations"] == 4
    assert summary["tied_tasks"] == ["102"]
    # Krippendorff's alpha from the same annotations laid out as a coder x unit matrix
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    code = {label: index for index, label in enumerate(FRAMING)}
    matrix = np.full((3, 4), np.nan)
    for unit, labels in enumerate(
        [
            {7: "accusation", 8: "accusation"},
            {7: "denial", 8: "other", 9: "denial"},
            {7: "diplomatic_proposal", 8: "other"},
            {7: "denial", 8: "accusation"},
        ]
    ):
        for coder, label in labels.items():
            matrix[coder - 7, unit] = code[label]
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert summary["krippendorff_alpha"] == pytest.approx(expected, abs=1e-4)
    pair = next(p for p in summary["cohen_kappa"]["pairs"] if p["annotators"] == ["7", "8"])
    assert pair["shared_tasks"] == 4
    first = ["accusation", "denial", "diplomatic_proposal", "denial"]
    second = ["accusation", "other", "other", "accusation"]
    assert pair["kappa"] == pytest.approx(cohen_kappa_score(first, second), abs=1e-4)
    assert "Krippendorff's alpha" in result.output

    # Label Studio's own converter reads the same annotations out of the export
    from label_studio_sdk.converter import Converter

    converter = Converter(config, project_dir=str(tmp_path), download_resources=False)
    read_by_sdk = {}
    for item in converter.iter_from_json_file(str(export_file)):
        if item and item["output"]:
            read_by_sdk.setdefault(item["id"], []).append(
                item["output"]["framing"][0]["choices"][0]
            )
    assert sorted(read_by_sdk[101]) == ["denial", "denial", "other"]
    assert 103 not in read_by_sdk  # the cancelled one


def test_import_reads_an_export_written_by_label_studio(framing_run, tmp_path):
    """tests/fixtures/labelstudio_export.json: Label Studio 1.23.2's JSON export of tasks that
    `labelstudio export` wrote for SENTENCES, annotated through its API (the opt-in test below)."""
    out = tmp_path / "labelled.jsonl"
    export_file = FIXTURES / "labelstudio_export.json"
    result = runner.invoke(
        app, ["labelstudio", "import", str(export_file), "-o", str(out), "--run", str(framing_run)]
    )
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in read_jsonl(out)}
    assert sorted(rows) == ["a1", "a2", "a3"]
    assert rows["a1"] == {**SENTENCES[0], "label": "accusation", "agreement": 1.0, "annotations": 2}
    assert rows["a3"]["label"] == "other" and rows["a3"]["agreement"] == pytest.approx(
        2 / 3, abs=1e-4
    )
    assert "1 cancelled (skipped) annotations left out" in result.output
    assert "tasks without an annotation: 4, 5, 6" in result.output


def test_import_finds_the_run_from_the_pre_annotations(framing_run, tmp_path):
    tasks, _ = export_tasks(framing_run, tmp_path)
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(as_export(tasks, {0: [annotation(1, 7, ["other"])]})))
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["labelstudio", "import", str(export_file), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 of 6 tasks written" in result.output
    assert "no task was annotated twice" in result.output
    header = out.read_text().splitlines()[0].split(",")
    assert {"id", "text", "label", "agreement", "annotations", "source"} <= set(header)


def test_import_with_labels_and_a_model_label_field_in_the_data(tmp_path):
    export = [
        {
            "id": 1,
            "data": {"text": "Kyiv denied it.", "label": "denial", "score": 0.4},
            "annotations": [annotation(1, 7, ["other"], result=[choice("other", "mine")])],
        }
    ]
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(export))
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app,
        ["labelstudio", "import", str(export_file), "-o", str(out), "--labels", ",".join(FRAMING)],
    )
    assert result.exit_code == 0, result.output
    row = read_jsonl(out)[0]
    assert row["label"] == "other" and row["data_label"] == "denial" and row["score"] == 0.4
    assert "data.label is written as 'data_label'" in result.output


def bad_export(tasks, **changes):
    export = as_export(tasks, {0: [annotation(1, 7, ["denial"])]})
    export[2]["annotations"] = [annotation(31, 7, ["denial"], **changes)]
    return export


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"result": [choice("acusation")]},
            "task 102 annotation 31: label 'acusation' is not one of the run's labels",
        ),
        (
            {
                "result": [
                    {
                        "from_name": "label",
                        "to_name": "text",
                        "type": "labels",
                        "value": {"start": 0, "end": 6, "text": "Moscow", "labels": ["PER"]},
                    }
                ]
            },
            "task 102 annotation 31: holds a 'labels' result (spans or regions marked in the data",
        ),
        (
            {"result": [choice("denial"), choice("other")]},
            "task 102 annotation 31: chooses denial, other; the run takes one label per sentence",
        ),
        (
            {"result": [choice("denial", "sentiment")]},
            "choices come from control sentiment, not 'framing'; pass --control NAME",
        ),
    ],
    ids=["unknown-label", "spans", "two-choices", "other-control"],
)
def test_import_bad_annotations(framing_run, tmp_path, change, message):
    tasks, _ = export_tasks(framing_run, tmp_path)
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(bad_export(tasks, **change)))
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["labelstudio", "import", str(export_file), "-o", str(out), "--run", str(framing_run)]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "out.agreement.json").exists()


def test_import_refuses_other_export_formats(framing_run, tmp_path):
    tasks, config = export_tasks(framing_run, tmp_path)
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(as_export(tasks, {0: [annotation(1, 7, ["denial"])]})))
    from label_studio_sdk.converter import Converter

    converter = Converter(config, project_dir=str(tmp_path), download_resources=False)
    converter.convert_to_json_min(str(export_file), str(tmp_path / "min"), is_dir=False)
    minimal = tmp_path / "min" / "result.json"
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["labelstudio", "import", str(minimal), "-o", str(out), "--run", str(framing_run)]
    )
    assert result.exit_code == 2
    assert "this is not Label Studio's JSON export (JSON-MIN and CSV exports" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text('[\n{"id": 1,\n "data": }\n]')
    result = runner.invoke(
        app, ["labelstudio", "import", str(broken), "-o", str(out), "--run", str(framing_run)]
    )
    assert result.exit_code == 2 and "broken.json line 3: not valid JSON" in result.output
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps([{"id": 1, "data": {"text": "x"}, "annotations": []}]))
    result = runner.invoke(app, ["labelstudio", "import", str(plain), "-o", str(out)])
    assert result.exit_code == 2 and "--run RUN (the run that exported the tasks)" in result.output


# ------------------------------------------------------------------ a real Label Studio server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(
    not os.environ.get("STANCEFRAME_LABEL_STUDIO"),
    reason="set STANCEFRAME_LABEL_STUDIO=1 (and have `label-studio` installed) to run against a "
    "real Label Studio server on loopback",
)
def test_round_trip_through_a_real_label_studio_server(framing_run, tmp_path):
    from label_studio_sdk import LabelStudio

    executable = os.environ.get("STANCEFRAME_LABEL_STUDIO_BIN") or shutil.which("label-studio")
    assert executable, "label-studio is not installed (pip install label-studio)"
    tasks, config = export_tasks(framing_run, tmp_path)
    port, token = _free_port(), "stanceframe-test-token-0123456789"
    server = subprocess.Popen(
        [
            executable,
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "ls-data"),
            "--username",
            "annotator@example.com",
            "--password",
            "stanceframe-test",
            "--user-token",
            token,
            "--enable-legacy-api-token",
        ],
        stdout=(tmp_path / "ls.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false"},
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + float(os.environ.get("STANCEFRAME_LABEL_STUDIO_WAIT", "900"))
        while True:
            assert server.poll() is None, (tmp_path / "ls.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base_url}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "Label Studio did not start in time"
            time.sleep(3)
        client = LabelStudio(base_url=base_url, api_key=token)
        project = client.projects.create(title="stanceframe round trip", label_config=config)
        client.projects.import_tasks(id=project.id, request=tasks)
        stored = list(client.tasks.list(project=project.id))
        assert len(stored) == len(tasks)
        by_text = {task.data["text"]: task for task in stored}
        wanted = {
            SENTENCES[0]["text"]: ["accusation", "accusation"],
            SENTENCES[1]["text"]: ["denial"],
            SENTENCES[2]["text"]: ["other", "diplomatic_proposal", "other"],
        }
        for text, labels in wanted.items():
            for label in labels:
                client.annotations.create(id=by_text[text].id, result=[choice(label)])
        client.annotations.create(
            id=by_text[SENTENCES[3]["text"]].id, result=[], was_cancelled=True
        )
        exported = b"".join(
            client.projects.exports.download_sync(
                project.id, export_type="JSON", download_all_tasks=True
            )
        )
        export_file = tmp_path / "label-studio-export.json"
        export_file.write_bytes(exported)
        out = tmp_path / "labelled.jsonl"
        result = runner.invoke(app, ["labelstudio", "import", str(export_file), "-o", str(out)])
        assert result.exit_code == 0, result.output
        rows = {row["id"]: row for row in read_jsonl(out)}
        assert sorted(rows) == ["a1", "a2", "a3"]
        assert rows["a1"]["label"] == "accusation" and rows["a1"]["agreement"] == 1.0
        assert rows["a3"]["label"] == "other" and rows["a3"]["annotations"] == 3
        assert rows["a2"]["source"] == "wire" and rows["a2"]["tags"] == []
        assert "1 cancelled (skipped) annotations left out" in result.output
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_import_for_a_stance_run_writes_its_label_column(stance_run, tmp_path):
    rows = [
        {"text": "The alliance keeps Europe safe.", "target": "NATO"},
        {"text": "Sanctions hurt ordinary people.", "target": "sanctions"},
    ]
    tasks, _ = export_tasks(stance_run, tmp_path, rows)
    stance = {"from_name": "stance", "to_name": "text", "type": "choices"}
    export = as_export(
        tasks,
        {
            0: [annotation(1, 7, [], result=[{**stance, "value": {"choices": ["favor"]}}])],
            1: [annotation(2, 7, [], result=[{**stance, "value": {"choices": ["against"]}}])],
        },
    )
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(export))
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["labelstudio", "import", str(export_file), "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = read_jsonl(out)
    assert [(row["text"], row["target"], row["stance"]) for row in written] == [
        (rows[0]["text"], "NATO", "favor"),
        (rows[1]["text"], "sanctions", "against"),
    ]


def test_import_of_multi_label_annotations(tmp_path):
    def chosen(*labels):
        return [
            {
                "from_name": "topics",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": list(labels)},
            }
        ]

    export = [
        {
            "id": 1,
            "data": {"text": "Talks on grain and gas resumed."},
            "annotations": [
                annotation(1, 7, [], result=chosen("trade", "energy")),
                annotation(2, 8, [], result=chosen("energy", "trade")),
                annotation(3, 9, [], result=chosen("trade")),
            ],
        }
    ]
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(export))
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app,
        [
            "labelstudio",
            "import",
            str(export_file),
            "-o",
            str(out),
            "--labels",
            "trade,energy,security",
            "--multi-label",
        ],
    )
    assert result.exit_code == 0, result.output
    row = read_jsonl(out)[0]
    assert row["label"] == ["energy", "trade"]
    assert row["agreement"] == pytest.approx(2 / 3, abs=1e-4)
