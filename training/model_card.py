"""Write the model card (README.md) of a run: intended use, labels, data, metrics, limitations.

The card is the template training/templates/model_card.md.j2, rendered by the one Jinja setup.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader

from stanceframe.rendering import jinja_environment
from stanceframe.run_files import RunMeta
from stanceframe.training.config import RunConfig

LABEL_MEANINGS = {
    "accusation": "someone blames or charges another actor with wrongdoing or hostile intent",
    "denial": "someone rejects a claim, charge, report or responsibility",
    "diplomatic_proposal": "someone proposes, calls for or agrees to talks, a summit, ceasefire, "
    "mediation or a deal",
    "other": "none of the above: facts, background, military events, quotes of position",
    "favor": "the text supports the target",
    "against": "the text opposes the target",
    "none": "no attitude toward the target can be read",
}


@cache
def _environment() -> Environment:
    environment = jinja_environment(
        PackageLoader("stanceframe.training", "templates"), autoescape=False
    )
    environment.filters["f3"] = lambda value: f"{value:.3f}"
    return environment


def render_model_card(config: RunConfig, meta: RunMeta, metrics: dict[str, Any]) -> str:
    template = _environment().get_template("model_card.md.j2")
    return template.render(
        config=config,
        settings=config.training,
        meta=meta,
        training=meta.training,
        pair=meta.input.target_column is not None,
        meanings=LABEL_MEANINGS,
        metrics=metrics,
        final_split="test" if "test" in metrics else "dev",
    )
