"""Shared fixtures: tiny configs that train in seconds on CPU."""

from __future__ import annotations

import pytest
import torch

from ganforge.config import DataConfig, ModelConfig, RunConfig, TrainConfig


@pytest.fixture(autouse=True)
def _two_threads():
    # Results must not depend on how many threads a test happens to run with.
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    # Feature caches go to a temporary folder, never the user's ~/.cache.
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path_factory.mktemp("cache")))


def tiny_config(tmp_path, model: dict | None = None, **train) -> RunConfig:
    """16x16 RGB shapes, a narrow DCGAN (or `model` overrides), batch 8: a step takes milliseconds."""
    settings = dict(steps=6, batch_size=8, log_every=2, sample_every=3, checkpoint_every=3,
                    keep_checkpoints=10, out_dir=str(tmp_path / "runs"), run_name="tiny")
    settings.update(train)
    return RunConfig(
        data=DataConfig(dataset="shapes", image_size=16, channels=3, limit=64),
        model=ModelConfig(**{"latent_dim": 8, "width": 8, **(model or {})}),
        train=TrainConfig(**settings),
    ).validate()


@pytest.fixture
def tiny(tmp_path) -> RunConfig:
    return tiny_config(tmp_path)
