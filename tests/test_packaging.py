"""The wheel installs one `stanceframe` namespace and nothing else at the top of site-packages."""

import subprocess
import sys
import zipfile

from tests.conftest import REPO


def test_wheel_holds_one_namespace_and_imports(tmp_path):
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(tmp_path.glob("stanceframe-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {
        "stanceframe",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
    for module in (
        "stanceframe/model/classifier.py",
        "stanceframe/training/trainer.py",
        "stanceframe/metrics.py",
        "stanceframe/cli.py",
        "stanceframe/eval/templates/report.html.j2",
        "stanceframe/eval/templates/comparison.md.j2",
        "stanceframe/training/templates/model_card.md.j2",
        "stanceframe/model/templates/article_view.html.j2",
        "stanceframe/model/templates/document.css",
        "stanceframe/templates/serve.html.j2",
        "stanceframe/static/serve.js",
        "stanceframe/static/serve.css",
        "stanceframe/data/framing/train.jsonl",
        "stanceframe/data/stance/test.jsonl",
        "stanceframe/data/distillation/framing_mpnet.jsonl",
    ):
        assert module in names
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = (
        "import stanceframe, stanceframe.training, stanceframe.eval; "
        "print(stanceframe.__file__); print(stanceframe.training.__file__)"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": ""},
        timeout=900,
    )
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert all(line.startswith(str(target)) for line in imported.stdout.splitlines())
