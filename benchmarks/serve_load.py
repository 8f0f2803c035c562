"""A bounded mixed-load test of `ganforge serve` on localhost: R requests, C at a time, spread over
the endpoints (info, sample, interpolate, inpaint, and decompression-bomb uploads to inpaint);
prints p50/p99 latency, throughput and status codes per endpoint, and the server's memory.

    python benchmarks/serve_load.py RUN [--requests 260] [--concurrency 16] [--n 16] [--bombs 10]

Only 127.0.0.1 is contacted; the server is started and stopped by the script.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import numpy as np
from PIL import Image


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png_bytes(picture: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def requests_mix(total: int, bombs: int, n: int, size: int, channels: int, seed: int = 0) -> list[tuple]:
    """(endpoint label, method, path, params or form) for every request, shuffled."""
    rng = random.Random(seed)
    mode = "RGB" if channels == 3 else "L"
    picture = png_bytes(Image.new(mode, (size, size), 128))
    bomb = png_bytes(Image.new("P", (12_000, 12_000)), optimize=True)  # ~144 MP in a few KB
    kinds = ["info", "sample", "interpolate", "inpaint"]
    mix = [("bomb", "POST", "/api/inpaint", {"files": {"image": ("b.png", bomb, "image/png")},
                                              "data": {"mask_kind": "center"}})] * bombs
    for i in range(total - bombs):
        kind = kinds[i % len(kinds)]
        if kind == "info":
            mix.append((kind, "GET", "/api/info", {}))
        elif kind == "sample":
            mix.append((kind, "GET", "/api/sample", {"params": {"n": n, "seed": i}}))
        elif kind == "interpolate":
            mix.append((kind, "GET", "/api/interpolate", {"params": {"from_seed": i, "to_seed": i + 1, "t": 0.5}}))
        else:
            mix.append((kind, "POST", "/api/inpaint", {"files": {"image": ("p.png", picture, "image/png")},
                                                        "data": {"mask_kind": "center", "seed": str(i)}}))
    rng.shuffle(mix)
    return mix


async def load(url: str, mix: list[tuple], concurrency: int) -> tuple[dict, dict]:
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Counter] = defaultdict(Counter)
    queue: asyncio.Queue = asyncio.Queue()
    for item in mix:
        queue.put_nowait(item)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            kind, method, path, options = queue.get_nowait()
            started = time.perf_counter()
            response = await client.request(method, f"{url}{path}", **options)
            latencies[kind].append(time.perf_counter() - started)
            statuses[kind][response.status_code] += 1

    async with httpx.AsyncClient(timeout=120) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--requests", type=int, default=260)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--n", type=int, default=16, help="images per sample request")
    parser.add_argument("--bombs", type=int, default=10, help="decompression-bomb uploads in the mix")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ganforge.cli.main", "serve", args.run, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    peak, sampling = [0.0], threading.Event()

    def watch_memory() -> None:
        while not sampling.wait(0.05):
            peak[0] = max(peak[0], rss_mb(server.pid))

    try:
        for _ in range(600):
            try:
                info = httpx.get(f"{url}/api/info", timeout=1).json()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        channels, size, _ = info["image_shape"]
        mix = requests_mix(args.requests, args.bombs, args.n, size, channels)
        before = rss_mb(server.pid)
        watcher = threading.Thread(target=watch_memory, daemon=True)
        watcher.start()
        started = time.perf_counter()
        latencies, statuses = asyncio.run(load(url, mix, args.concurrency))
        wall = time.perf_counter() - started
        sampling.set()
        after = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"{args.requests} requests ({args.bombs} bomb uploads), {args.concurrency} concurrent, {wall:.1f} s, "
          f"{args.requests / wall:.1f} requests/s; server memory {before:.0f} MB before, {peak[0]:.0f} MB peak, "
          f"{after:.0f} MB after\n")
    print("| endpoint | requests | p50 ms | p99 ms | max ms | status codes |\n|---|---:|---:|---:|---:|---|")
    for kind in ("info", "sample", "interpolate", "inpaint", "bomb"):
        if kind not in latencies:
            continue
        ms = np.array(latencies[kind]) * 1000
        codes = ", ".join(f"{code}: {count}" for code, count in sorted(statuses[kind].items()))
        print(f"| {kind} | {len(ms)} | {np.percentile(ms, 50):.0f} | {np.percentile(ms, 99):.0f} | {ms.max():.0f} | "
              f"{codes} |")


if __name__ == "__main__":
    main()
