"""``python -m simulator``: run the Bot API simulator (for the demo chat page or manual testing)."""

from __future__ import annotations

import argparse

from .config import SimulatorConfig
from .server import run


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--bot",
        action="append",
        default=[],
        metavar="TOKEN=USERNAME",
        help="register a bot at start (repeatable), e.g. 123456:secret=pintu_bot",
    )
    parser.add_argument("--no-rate-limits", action="store_true", help="never answer 429")
    args = parser.parse_args(argv)
    bots = []
    for spec in args.bot:
        token, sep, username = spec.partition("=")
        if not sep or not username:
            parser.error(f"--bot wants TOKEN=USERNAME, got {spec!r}")
        bots.append((token, username))
    run(args.host, args.port, SimulatorConfig(rate_limits=not args.no_rate_limits), bots)


if __name__ == "__main__":
    main()
