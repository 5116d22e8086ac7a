"""The layers of docs/architecture.md hold: training and model read only the base layer."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "import_graph.py"
spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
import_graph = importlib.util.module_from_spec(spec)
spec.loader.exec_module(import_graph)


def test_no_import_breaks_a_layer():
    edges, broken = import_graph.layer_edges()
    assert broken == []
    assert edges[("eval", "training")] > 0  # the graph is really read


def test_a_lazy_import_from_training_into_eval_is_caught(tmp_path):
    module = tmp_path / "trainer.py"
    module.write_text("def f():\n    from stanceframe.eval.report import write_run_reports\n")
    _, broken = import_graph.layer_edges({module: "stanceframe.training.trainer"})
    assert broken == [f"{module}:2: training imports stanceframe.eval.report"]


def test_the_base_layer_may_not_read_the_model(tmp_path):
    module = tmp_path / "records.py"
    module.write_text("import stanceframe.model.classifier\n")
    _, broken = import_graph.layer_edges({module: "stanceframe.records"})
    assert len(broken) == 1 and "base imports stanceframe.model.classifier" in broken[0]
