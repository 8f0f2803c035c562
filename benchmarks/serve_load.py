"""A bounded load test of `ganforge serve` on localhost: R requests, C at a time, against the
sample endpoint; prints latency percentiles, throughput and the error count.

    python benchmarks/serve_load.py RUN [--requests 200] [--concurrency 8] [--n 16]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time

import httpx
import numpy as np


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(url: str, requests: int, concurrency: int, n: int) -> tuple[list[float], int]:
    latencies, errors = [], 0
    queue = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            response = await client.get(f"{url}/api/sample", params={"n": n, "seed": i})
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or response.headers.get("content-type") != "image/png":
                errors += 1

    async with httpx.AsyncClient(timeout=120) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--n", type=int, default=16, help="images per request")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ganforge.cli.main", "serve", args.run, "--port", str(port)],
                              stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/api/info", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        started = time.perf_counter()
        latencies, errors = asyncio.run(load(url, args.requests, args.concurrency, args.n))
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    ms = np.array(latencies) * 1000
    print(f"{args.requests} requests of {args.n} images, {args.concurrency} concurrent, {wall:.1f} s\n")
    print("| p50 ms | p90 ms | p99 ms | max ms | requests/s | errors |\n|---:|---:|---:|---:|---:|---:|")
    print(f"| {np.percentile(ms, 50):.0f} | {np.percentile(ms, 90):.0f} | {np.percentile(ms, 99):.0f} | "
          f"{ms.max():.0f} | {args.requests / wall:.1f} | {errors} |")


if __name__ == "__main__":
    main()
