"""Evaluation: score predictions against gold labels, calibrate, compare runs, write reports."""

# The scorer itself is the base layer's stanceframe.metrics (training uses it for early stopping).
# Reports pull in matplotlib and jinja2; they load on first use.
_LAZY = {
    "evaluate_run": "stanceframe.eval.report",
    "write_run_reports": "stanceframe.eval.report",
    "compare_runs": "stanceframe.eval.compare",
    "calibrate_run": "stanceframe.eval.calibration",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [*_LAZY]
