"""An S3 endpoint on loopback that answers like a real region, for the benchmarks: moto's server behind a proxy
that holds each new request on a connection for a fixed delay. A real region answers a small request in tens of
milliseconds and moto on loopback in well under one, which would hide everything parallel requests gain.

    python bench/slow_s3.py --port 9000 --latency-ms 20      # prints "ready", serves until killed
    EARMARK_S3_ENDPOINT_URL=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=t AWS_SECRET_ACCESS_KEY=t AWS_REGION=us-east-1 ...

Needs moto[server] (in requirements.txt). ``--latency-ms 0`` serves moto directly.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import subprocess
import sys
import time


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: dict[str, str | None], side: str,
                delay: float) -> None:
    """Copy one direction of a connection; a request from the client after a reply waits ``delay`` first."""
    try:
        while data := await reader.read(65536):
            if side == "client" and state["last"] != "client":
                await asyncio.sleep(delay)  # one round trip for each new request on the connection
            state["last"] = side
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def _serve(port: int, inner: int, delay: float) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", inner)
        state: dict[str, str | None] = {"last": None}
        await asyncio.gather(_pipe(client_reader, server_writer, state, "client", delay),
                             _pipe(server_reader, client_writer, state, "server", delay))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def _moto(port: int) -> subprocess.Popen:
    """moto's S3 server in a process of its own: in this one it would share the interpreter lock with the proxy,
    and the pair would answer at most one Python thread's worth of requests (a real region has no such limit)."""
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("moto's server did not start within 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=20)
    args = parser.parse_args()
    inner = args.port if not args.latency_ms else free_port()
    server = _moto(inner)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the finally below stops moto too
    try:
        if not args.latency_ms:
            print("ready", flush=True)
            server.wait()
        else:
            asyncio.run(_serve(args.port, inner, args.latency_ms / 1000))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
