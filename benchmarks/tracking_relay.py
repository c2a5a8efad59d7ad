"""The ceiling for the tracking benchmark: a bare WebSocket relay that only parses and acks.

Same stack as `courier serve` (uvicorn, `ws="websockets-sansio"`, uvloop, orjson), no
FastAPI, no database, no Redis: it reads a `positions` message, finds its highest `seq` and
answers `{"type": "ack", "seq": ..., "rejected": []}`. Run with

    python benchmarks/tracking_relay.py --port 8765 --workers 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
import uvicorn


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("text") or message.get("bytes")
        body = orjson.loads(data)
        seq = max((p["seq"] for p in body["points"]), default=0)
        await send({"type": "websocket.send",
                    "text": orjson.dumps({"type": "ack", "seq": seq, "rejected": []}).decode()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run("tracking_relay:app", app_dir=str(Path(__file__).resolve().parent),
                host="127.0.0.1", port=args.port,
                workers=args.workers, ws="websockets-sansio", loop="uvloop",
                log_level="warning")


if __name__ == "__main__":
    main()
