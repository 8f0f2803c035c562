"""The server under hostile input: decompression bombs, queue overflow, timed-out work, seeds
out of range."""

import io
import threading

import pytest
from PIL import Image, ImageFile

from ganforge.training import train
from tests.conftest import tiny_config

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from ganforge.serve import Limits, create_app  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train(tiny_config(tmp_path_factory.mktemp("limits"), {"arch": "resnet"}, steps=2), progress=False)


def bomb_png() -> bytes:
    """A palette PNG of 12,000 x 12,000 pixels in a few KB (one colour compresses to nothing)."""
    buffer = io.BytesIO()
    Image.new("P", (12_000, 12_000)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def test_a_decompression_bomb_is_refused_from_its_header(run, monkeypatch):
    data = bomb_png()
    assert len(data) < 200_000
    decoded = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or real_load(self))
    client = TestClient(create_app(run, limits=Limits(max_upload_bytes=1 << 20)))
    response = client.post("/api/inpaint", files={"image": ("bomb.png", data, "image/png")},
                           data={"mask_kind": "center"})
    assert response.status_code == 422 and "expected 16x16, got 12000x12000" in response.text
    assert (12_000, 12_000) not in decoded  # no pixel of it was decoded


@pytest.mark.parametrize("params", [{"seed": 2**64}, {"seed": -1}])
def test_seeds_out_of_range_name_the_parameter(run, params):
    client = TestClient(create_app(run))
    response = client.get("/api/sample", params={"n": 1, **params})
    assert response.status_code == 422 and "seed" in response.text
    response = client.get("/api/interpolate", params={"from_seed": 2**64})
    assert response.status_code == 422 and "from_seed" in response.text
    response = client.get("/api/sample", params={"n": 1, "labels": str(2**70)})
    assert response.status_code == 422 and "labels" in response.text


def test_timed_out_work_stays_on_one_worker_and_a_full_queue_answers_503(run):
    def workers() -> int:
        return sum(t.name.startswith("ganforge-model") for t in threading.enumerate())

    before = workers()
    limits = Limits(timeout_s=0.05, max_queue=1, inpaint_steps=400, inpaint_restarts=2)
    client = TestClient(create_app(run, limits=limits))
    digit = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(digit, format="PNG")
    form = {"files": {"image": ("d.png", digit.getvalue(), "image/png")}, "data": {"mask_kind": "center"}}
    assert client.post("/api/inpaint", **form).status_code == 504  # its inversion keeps running...
    busy = client.post("/api/inpaint", **form)
    assert busy.status_code == 503 and "busy" in busy.text  # ...so the one queue slot is taken
    assert client.get("/api/info").status_code == 200  # metadata is never queued
    assert client.post("/api/inpaint", **form).status_code == 503
    assert workers() - before == 1  # timed-out work never adds threads
