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
import socket
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=20)
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    if not args.latency_ms:
        ThreadedMotoServer(ip_address="127.0.0.1", port=args.port).start()
        print("ready", flush=True)
        while True:
            time.sleep(3600)
    inner = free_port()
    ThreadedMotoServer(ip_address="127.0.0.1", port=inner).start()
    asyncio.run(_serve(args.port, inner, args.latency_ms / 1000))


if __name__ == "__main__":
    main()
