"""cligate as its own process, for the benchmark: ``python -m bench.proxy CONFIG.yaml --fd N``.

The app is built exactly as ``cligate start`` builds it, from a YAML config, and served by
uvicorn on a listening TCP socket the parent bound (so there is no port race).

The socket is handed to ``Server.run(sockets=...)``, not to uvicorn's ``fd=``: uvicorn opens an
``fd`` as an AF_UNIX socket, so the event loop would not set TCP_NODELAY on accepted connections
and every response would stall ~40 ms on Nagle plus the client's delayed ACK.
"""

from __future__ import annotations

import argparse
import importlib.util
import socket
from pathlib import Path

import uvicorn

from router.app import create_app
from router.config import load_config


def fastest(module: str) -> str:
    """``module`` (uvloop, httptools) when installed, else uvicorn's pure-Python default."""
    return module if importlib.util.find_spec(module) else "auto"


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve cligate for the benchmark.")
    parser.add_argument("config", type=Path)
    parser.add_argument("--fd", type=int, required=True, help="a bound, listening TCP socket")
    args = parser.parse_args()
    config = uvicorn.Config(
        # The keeper's warm-up and discovery requests would mix into the measured traffic.
        create_app(load_config(args.config), keep_local_models=False),
        loop=fastest("uvloop"),
        http=fastest("httptools"),
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=args.fd)])


if __name__ == "__main__":
    main()
