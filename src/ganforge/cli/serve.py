"""`ganforge serve RUN`: the web API and page (FastAPI on uvicorn)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from ganforge.cli import echo
from ganforge.cli.options import Float, Int, RunOrModel
from ganforge.errors import MissingExtra

SERVE_EXTRA = {"fastapi", "starlette", "pydantic", "uvicorn", "multipart", "python_multipart"}  # what [serve] installs


@click.command(epilog="""\b
Example:
  ganforge serve runs/mnist-dcgan-20261130-120000 --port 8000     # then open http://127.0.0.1:8000""")
@click.argument("run", type=RunOrModel())
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: all).")
@click.option("--port", default=8000, show_default=True, type=Int(1, 65535))
@click.option("--max-n", default=64, show_default=True, type=Int(min=1, max=10_000),
              help="Images per request (each is held in memory: at most 10,000).")
@click.option("--max-upload-kb", default=2048, show_default=True, type=Int(min=1, max=1 << 20),
              help="Largest upload, at most 1 GiB.")
@click.option("--timeout", default=30.0, show_default=True, type=Float(min=0, max=86_400, min_open=True),
              help="Seconds a request may compute before a 504.")
@click.option("--header-timeout", default=10.0, show_default=True, type=Float(min=0, max=3600, min_open=True),
              help="Seconds a connection may take to send a request's headers before it is closed.")
@click.option("--device", default="cpu", show_default=True)
def serve(run: Path, host: str, port: int, max_n: int, max_upload_kb: int, timeout: float, header_timeout: float,
          device: str) -> None:
    """Serve a generator: sample, interpolate and inpaint over HTTP, with a web page."""
    try:
        from ganforge.serve import Limits, create_app  # imports FastAPI
        from ganforge.serve.server import bind, run as run_server
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in SERVE_EXTRA:
            raise  # a bug, not a missing extra
        raise MissingExtra(f"ganforge serve needs the serve extra ({exc.name} is not installed): "
                           "pip install 'ganforge[serve]'") from None
    # FastAPI only looks for python-multipart (file uploads) when the app is built, failing then
    # with a RuntimeError: ask first.
    if not any(importlib.util.find_spec(name) for name in ("python_multipart", "multipart")):
        raise MissingExtra("ganforge serve needs the serve extra (python-multipart is not installed): "
                           "pip install 'ganforge[serve]'")

    sock = bind(host, port)  # a port in use is one line before the model loads
    app = create_app(run, device, Limits(max_n=max_n, max_upload_bytes=max_upload_kb * 1024, timeout_s=timeout))
    echo(f"serving {run} on http://{host}:{port}")
    run_server(app, sock, header_timeout)
