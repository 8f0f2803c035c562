"""The web API (FastAPI): sample, interpolate and inpaint, each answering with a PNG.

    GET  /                    the page (page.html)
    GET  /api/models          the models to choose from: the run served, then the zoo's
    GET  /api/info            the model: image shape, latent size, classes, limits, mask kinds, methods
    GET  /api/sample          n, seed, labels (comma-separated), truncation -> PNG grid
    GET  /api/interpolate     from_seed, to_seed, t in [0, 1] (slerp) -> PNG of one image
    POST /api/inpaint         multipart image (+ mask, white = missing; or mask_kind), method -> PNG

Inpainting methods and mask kinds are those of `ganforge inpaint` (INPAINTERS, MASKS): inversion
(default), net (the run's trained inpainting net) or telea (OpenCV, an optional extra).

Every /api/ call takes `model` (a name from /api/models; default: the run the server started
with); zoo models are loaded on first use and kept.

Limits are enforced with 4xx answers naming the parameter: at most `max_n` images per request,
uploads up to `max_upload_bytes` of PNG or JPEG, inversion steps capped, and each request given
`timeout_s` seconds (504 after that); a method whose optional extra is not installed is a 501.
"""

from __future__ import annotations

import asyncio
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from fastapi import FastAPI, File, Form, HTTPException, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from PIL import Image

from ganforge.api import LoadedGAN, load
from ganforge.apps.explore import slerp
from ganforge.apps.inpainting import INPAINTERS
from ganforge.apps.masks import MASK_KINDS, user_mask
from ganforge.errors import GanforgeError
from ganforge.io.pictures import make_grid, to_pil
from ganforge import zoo

PNG = "image/png"
UPLOAD_TYPES = {"PNG", "JPEG"}


@dataclass(frozen=True)
class Limits:
    max_n: int = 64  # images per sample request
    max_upload_bytes: int = 2 * 1024 * 1024
    timeout_s: float = 30.0
    inpaint_steps: int = 200  # masked-inversion steps per inpaint request
    inpaint_restarts: int = 4
    max_queue: int = 16  # model requests waiting or running; 503 beyond


MAX_SEED = 2**63 - 1  # what torch.Generator.manual_seed accepts


def seed_query(default: int = 0):
    """A seed query parameter in [0, 2^63) (a fresh Query per parameter: FastAPI binds each to one name)."""
    return Query(default, ge=0, le=MAX_SEED)


def _png(images: torch.Tensor, nrow: int | None = None, upscale: int = 1) -> bytes:
    picture = to_pil(make_grid(images, nrow, padding=2 if len(images) > 1 else 0))
    if upscale > 1:
        picture = picture.resize((picture.width * upscale, picture.height * upscale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _upscale(gan: LoadedGAN) -> int:
    return max(1, 128 // gan.image_shape[1])


def create_app(run: str | Path, device: str = "cpu", limits: Limits = Limits(), with_zoo: bool = True):
    """The FastAPI application serving the generator of `run` (a run or checkpoint folder, or a
    zoo model's name) and, with `with_zoo`, the zoo's models beside it."""
    first = load(run, device=device)
    default = str(run)
    choices = [default] + ([name for name in zoo.names() if name != default] if with_zoo else [])
    loaded = {default: first}
    loading = threading.Lock()
    app = FastAPI(title="ganforge", description=f"Generator of {first.checkpoint}")

    def model_query():
        return Query(None, description="A name from /api/models; default: the run the server started with.")

    def pick(model: str | None) -> LoadedGAN:
        """The chosen model, loaded on first use."""
        if model is None or model == "":
            return first
        if model not in choices:
            raise HTTPException(422, f"model: choose one of {', '.join(choices)}")
        with loading:
            if model not in loaded:
                try:
                    loaded[model] = load(model, device=device)
                except GanforgeError as exc:
                    raise HTTPException(500, f"model: {exc}") from None
            return loaded[model]
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ganforge-model")
    queued = threading.BoundedSemaphore(limits.max_queue)  # model requests waiting or running

    async def compute(function, *args, **kwargs):
        """function(*args, **kwargs) on the model worker, with the queue bound and the time limit."""
        if not queued.acquire(blocking=False):
            raise HTTPException(503, f"busy: {limits.max_queue} image requests are already waiting; try again shortly")
        job = worker.submit(function, *args, **kwargs)
        job.add_done_callback(lambda _: queued.release())  # finished, failed or dropped from the queue
        try:
            # On timeout the wrapper cancels the job: it leaves the queue if it had not started.
            return await asyncio.wait_for(asyncio.wrap_future(job), limits.timeout_s)
        except asyncio.TimeoutError:
            raise HTTPException(504, f"the request took longer than {limits.timeout_s:g} s") from None
        except (GanforgeError, ValueError) as exc:
            raise HTTPException(422, str(exc)) from None
        except ImportError as exc:  # an optional extra (OpenCV for telea) is not installed
            raise HTTPException(501, str(exc)) from None

    def parse_labels(text: str | None, gan: LoadedGAN) -> list[int] | None:
        if text is None or text == "":
            return None
        try:
            values = [int(part) for part in text.split(",")]
        except ValueError:
            raise HTTPException(422, f"labels: expected class indices like 3 or 0,1,2, got {text!r}") from None
        if any(not 0 <= v <= MAX_SEED for v in values):
            raise HTTPException(422, f"labels: class indices must be in [0, {gan.num_classes or 1}), got {text!r}")
        return values

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return resources.files("ganforge.serve").joinpath("page.html").read_text()

    @app.get("/api/models")
    def models() -> list[dict]:
        out = []
        for name in choices:
            card = zoo.card(name) if name != default else {}
            out.append({"name": name, "zoo": name != default, "summary": card.get("summary", "the run served")})
        return out

    @app.get("/api/info")
    def info(model: str | None = model_query()) -> dict:
        gan = pick(model)
        channels, size, _ = gan.image_shape
        return {"model": model or default, "checkpoint": str(gan.checkpoint), "step": gan.step,
                "image_shape": [channels, size, size], "latent_dim": gan.latent_dim, "num_classes": gan.num_classes,
                "arch": gan.config.model.arch, "limits": asdict(limits), "mask_kinds": list(MASK_KINDS),
                "methods": INPAINTERS.names()}

    @app.get("/api/sample")
    async def sample(n: int = Query(16, ge=1), seed: int = seed_query(), labels: str | None = None,
                     truncation: float = Query(1.0, gt=0, le=1), model: str | None = model_query()) -> Response:
        if n > limits.max_n:
            raise HTTPException(422, f"n: at most {limits.max_n} images per request, got {n}")
        gan = await run_in_threadpool(pick, model)
        images = await compute(gan.sample, n, seed=seed, labels=parse_labels(labels, gan), truncation=truncation)
        nrow = gan.num_classes if gan.num_classes and labels in (None, "") and gan.num_classes <= 16 else None
        return Response(_png(images, nrow, _upscale(gan)), media_type=PNG)

    @app.get("/api/interpolate")
    async def between(from_seed: int = seed_query(), to_seed: int = seed_query(1),
                      t: float = Query(0.5, ge=0, le=1), label: int | None = Query(None, ge=0, le=MAX_SEED),
                      model: str | None = model_query()) -> Response:
        gan = await run_in_threadpool(pick, model)

        def one_frame() -> torch.Tensor:
            a, b = gan.latents(1, from_seed)[0].cpu(), gan.latents(1, to_seed)[0].cpu()
            chosen = (0 if label is None else label) if gan.num_classes else label  # bad labels -> 422
            return gan.generate(slerp(a, b, torch.tensor([t])), chosen)

        image = await compute(one_frame)
        return Response(_png(image, upscale=_upscale(gan)), media_type=PNG)

    @app.post("/api/inpaint")
    async def inpaint(image: UploadFile = File(...), mask: UploadFile | None = File(None),
                      mask_kind: str | None = Form(None), method: str = Form("inversion"),
                      seed: int = Form(0, ge=0, le=MAX_SEED), model: str | None = Form(None)) -> Response:
        gan = await run_in_threadpool(pick, model)
        channels, size, _ = gan.image_shape
        picture = await read_upload(image, "image", "RGB" if channels == 3 else "L", size)
        if mask is None and mask_kind is None:
            raise HTTPException(422, f"mask: upload a mask image or set mask_kind to one of {', '.join(MASK_KINDS)}")
        spec = await read_upload(mask, "mask", "L", size) if mask is not None else mask_kind
        try:
            hole = user_mask(spec, size, seed, files=False)  # never a path on the server's disk
            fill = INPAINTERS.get(method)
        except GanforgeError as exc:
            raise HTTPException(422, str(exc)) from None
        array = np.asarray(picture, dtype=np.float32) / 127.5 - 1
        tensor = torch.from_numpy(array[None] if channels == 1 else array.transpose(2, 0, 1))[None]
        restored = await compute(fill, gan, tensor, hole, steps=limits.inpaint_steps,
                                 restarts=limits.inpaint_restarts, seed=seed)
        return Response(_png(restored, upscale=_upscale(gan)), media_type=PNG)

    async def read_upload(upload, name: str, mode: str, size: int) -> Image.Image:
        data = await upload.read(limits.max_upload_bytes + 1)
        if len(data) > limits.max_upload_bytes:
            raise HTTPException(413, f"{name}: larger than {limits.max_upload_bytes} bytes")
        return await run_in_threadpool(decode_upload, data, name, mode, size)

    def decode_upload(data: bytes, name: str, mode: str, size: int) -> Image.Image:
        """Format and size from the header first (Image.open reads no pixels), then decode."""
        try:
            picture = Image.open(io.BytesIO(data))
        except Exception:  # noqa: BLE001 - Pillow raises many types for bad bytes
            raise HTTPException(415, f"{name}: not a readable PNG or JPEG image") from None
        if picture.format not in UPLOAD_TYPES:
            raise HTTPException(415, f"{name}: {picture.format} images are not accepted (PNG or JPEG)")
        if picture.size != (size, size):
            raise HTTPException(422, f"{name}: expected {size}x{size}, got {picture.width}x{picture.height}")
        try:
            picture.load()
        except Exception:  # noqa: BLE001
            raise HTTPException(415, f"{name}: not a readable PNG or JPEG image") from None
        return picture.convert(mode)

    return app
