"""The corpora bundled with stanceframe: framing and stance splits as JSON Lines files."""

from importlib.resources import files
from pathlib import Path


def bundled_path(name: str) -> Path:
    """Path of a bundled split, e.g. 'framing/train' -> .../stanceframe/data/framing/train.jsonl."""
    path = Path(str(files(__name__).joinpath(f"{name}.jsonl")))
    if not path.is_file():
        available = sorted(
            f"{folder.name}/{split.stem}"
            for folder in Path(str(files(__name__))).iterdir()
            if folder.is_dir() and not folder.name.startswith(("_", "raw"))
            for split in folder.glob("*.jsonl")
        )
        raise FileNotFoundError(
            f"bundled:{name} does not exist; bundled data: {', '.join(available) or 'none'}"
        )
    return path
