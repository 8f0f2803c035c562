import json

import pytest

from ganforge.config import LOGGERS
from ganforge.errors import MissingExtra
from ganforge.training import resume, train
from ganforge.training import loggers as loggers_module
from ganforge.training.loggers import LOGGER_BUILDERS, TENSORBOARD_DIR
from tests.conftest import tiny_config

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def read_events(run):
    events = event_accumulator.EventAccumulator(str(run / TENSORBOARD_DIR), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    return events


def test_every_logger_the_schema_names_has_a_builder():
    assert LOGGER_BUILDERS.names() == sorted(LOGGERS)


def test_tensorboard_gets_the_metrics_samples_and_config_and_resume_continues_it(tmp_path):
    run = train(tiny_config(tmp_path, steps=4, logger="tensorboard", sample_every=2), progress=False)
    events = read_events(run)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    loss_d = events.Scalars("loss_d")
    assert [e.step for e in loss_d] == [r["step"] for r in records] == [2, 4]
    assert [e.value for e in loss_d] == pytest.approx([r["loss_d"] for r in records], rel=1e-6)
    assert {"loss_g", "d_real", "d_fake", "images_per_s"} <= set(events.Tags()["scalars"])
    images = events.Images("samples")
    assert [i.step for i in images] == [2, 4] and images[0].width > 16
    assert "config/text_summary" in events.Tags()["tensors"]
    resume(run, steps=6, progress=False)
    assert [e.step for e in read_events(run).Scalars("loss_d")] == [2, 4, 6]


def test_a_missing_tensorboard_names_the_extra(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(MissingExtra, match=r"pip install 'ganforge\[tensorboard\]'"):
        loggers_module.build_logger("tensorboard", tmp_path, tiny_config(tmp_path), 0)
