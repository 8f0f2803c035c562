import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import ganforge  # noqa: F401
from ganforge.training import train
from tests.conftest import tiny_config

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from ganforge.serve import Limits, create_app  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    plain = train(tiny_config(tmp / "p", {"arch": "resnet"}, steps=2), progress=False)
    cond = train(tiny_config(tmp / "c", {"arch": "resnet", "num_classes": 3}, steps=2), progress=False)
    return plain, cond


@pytest.fixture(scope="module")
def client(runs):
    return TestClient(create_app(runs[0], limits=Limits(max_n=8, max_upload_bytes=4096, inpaint_steps=5,
                                                         inpaint_restarts=1)))


def png(response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def upload(picture: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt)
    return buffer.getvalue()


def test_page_and_info(client):
    page = client.get("/")
    assert page.status_code == 200 and "<title>ganforge</title>" in page.text
    info = client.get("/api/info").json()
    assert info["image_shape"] == [3, 16, 16] and info["limits"]["max_n"] == 8 and info["num_classes"] == 0


def test_sample_is_a_png_grid_and_deterministic(client):
    first = client.get("/api/sample", params={"n": 4, "seed": 3})
    grid = png(first)
    assert grid.size == ((2 * 18 + 2) * 8, (2 * 18 + 2) * 8)  # 2x2 grid of 16 px, x8 for the page
    assert first.content == client.get("/api/sample", params={"n": 4, "seed": 3}).content
    assert first.content != client.get("/api/sample", params={"n": 4, "seed": 4}).content


@pytest.mark.parametrize("params, status, message", [
    ({"n": 9}, 422, "at most 8 images"),
    ({"n": 0}, 422, ""),
    ({"truncation": 0}, 422, ""),
    ({"n": 2, "labels": "1"}, 422, "unconditional"),
])
def test_sample_limits_and_bad_input(client, params, status, message):
    response = client.get("/api/sample", params=params)
    assert response.status_code == status and message in response.text


def test_interpolate_ends_are_the_seed_images(client, runs):
    gan = ganforge.load(runs[0])
    start = np.asarray(png(client.get("/api/interpolate", params={"from_seed": 2, "to_seed": 5, "t": 0})))
    expected = np.asarray(Image.open(io.BytesIO(_single_png(gan.sample(1, seed=2)))))
    assert start.shape == (128, 128, 3) and np.array_equal(start, expected)


def _single_png(images):
    from ganforge.serve.app import _png

    return _png(images, upscale=8)


def test_inpaint_upload_and_its_limits(client, runs):
    gan = ganforge.load(runs[0])
    from ganforge.data.transforms import to_uint8

    picture = Image.fromarray(to_uint8(gan.sample(1, seed=1))[0].permute(1, 2, 0).numpy())
    hole = Image.new("L", (16, 16))
    hole.paste(255, (4, 4, 10, 10))
    restored = png(client.post("/api/inpaint", files={"image": ("x.png", upload(picture)),
                                                      "mask": ("m.png", upload(hole))}))
    assert restored.size == (128, 128)
    assert png(client.post("/api/inpaint", files={"image": ("x.png", upload(picture))},
                           data={"mask_kind": "center"})).size == (128, 128)
    big = Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 60, 3), dtype=np.uint8))
    cases = [
        ({"image": ("x.png", upload(big))}, {"mask_kind": "center"}, 413, "larger than 4096 bytes"),
        ({"image": ("x.gif", upload(picture, "GIF"))}, {"mask_kind": "center"}, 415, "GIF images are not accepted"),
        ({"image": ("x.png", b"not an image")}, {"mask_kind": "center"}, 415, "not a readable"),
        ({"image": ("x.png", upload(picture.resize((8, 8))))}, {"mask_kind": "center"}, 422, "expected 16x16"),
        ({"image": ("x.png", upload(picture))}, {}, 422, "upload a mask image"),
        ({"image": ("x.png", upload(picture)), "mask": ("m.png", upload(Image.new("L", (16, 16))))}, {}, 422,
         "mask is empty"),
    ]
    for files, data, status, message in cases:
        response = client.post("/api/inpaint", files=files, data=data)
        assert response.status_code == status and message in response.text, (status, response.text)


def test_inpaint_methods_and_mask_kinds_are_the_cli_ones(client, runs):
    gan = ganforge.load(runs[0])
    from ganforge.data.transforms import to_uint8

    picture = Image.fromarray(to_uint8(gan.sample(1, seed=1))[0].permute(1, 2, 0).numpy())
    files = {"image": ("x.png", upload(picture))}
    assert png(client.post("/api/inpaint", files=files, data={"mask_kind": "scribble", "method": "telea"})).size == (
        128, 128)
    cases = [
        ({"mask_kind": "center", "method": "magic"}, 422, "choose one of: inversion, net, telea"),
        ({"mask_kind": "center", "method": "net"}, 422, "train-inpainter"),
        ({"mask_kind": "stars"}, 422, "one of center, boxes, scribble"),
        ({"mask_kind": str(runs[0] / "config.json")}, 422, "one of center, boxes, scribble"),  # never a server file
    ]
    for data, status, message in cases:
        response = client.post("/api/inpaint", files=files, data=data)
        assert response.status_code == status and message in response.text, (data, response.text)


def test_conditional_labels(runs):
    client = TestClient(create_app(runs[1]))
    assert png(client.get("/api/sample", params={"n": 6})).size[0] == (3 * 18 + 2) * 8  # a column per class
    assert client.get("/api/sample", params={"n": 2, "labels": "7"}).status_code == 422


def test_timeout_is_a_504(runs):
    client = TestClient(create_app(runs[0], limits=Limits(timeout_s=1e-4)))
    response = client.get("/api/sample", params={"n": 64})
    assert response.status_code == 504 and "longer than" in response.text


def test_the_server_never_imports_training_code(runs):
    code = ("import sys\nfrom fastapi.testclient import TestClient\nfrom ganforge.serve import create_app\n"
            f"c = TestClient(create_app({str(runs[0])!r}))\n"
            "assert c.get('/api/sample', params={'n': 2}).status_code == 200\n"
            "bad = [m for m in sys.modules if m.startswith('ganforge.training')]\nassert not bad, bad\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_model_picker_serves_the_run_and_the_zoo(runs, tmp_path, monkeypatch):
    from ganforge import zoo
    from ganforge.zoo.pack import pack

    monkeypatch.setattr(zoo, "MODELS_DIR", tmp_path / "models")
    pack(runs[1], tmp_path / "models" / "tiny-cond", {"summary": "three classes"})
    client = TestClient(create_app(runs[0]))
    listed = client.get("/api/models").json()
    assert [m["name"] for m in listed] == [str(runs[0]), "tiny-cond"]
    assert listed[1] == {"name": "tiny-cond", "zoo": True, "summary": "three classes"} and not listed[0]["zoo"]
    assert client.get("/api/info").json()["num_classes"] == 0
    info = client.get("/api/info", params={"model": "tiny-cond"}).json()
    assert info["num_classes"] == 3 and info["model"] == "tiny-cond"
    grid = png(client.get("/api/sample", params={"n": 6, "model": "tiny-cond"}))
    assert grid.size[0] == (3 * 18 + 2) * 8  # the conditional zoo model: a column per class
    assert client.get("/api/sample", params={"n": 2, "labels": "1"}).status_code == 422  # the run: unconditional
    response = client.get("/api/sample", params={"n": 2, "model": "elsewhere"})
    assert response.status_code == 422 and "choose one of" in response.text and "tiny-cond" in response.text
    alone = TestClient(create_app(runs[0], with_zoo=False))
    assert [m["name"] for m in alone.get("/api/models").json()] == [str(runs[0])]
