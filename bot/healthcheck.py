"""The container's HEALTHCHECK: ``python -m bot.healthcheck [URL]`` exits 0 when GET /healthz answers 200.

Without URL it asks the running bot's own ops server (PINTU_METRICS_LISTEN) so that the check sees what
the bot sees (database, scheduler, outbox lag); with one (the reference registry's
``http://127.0.0.1:8090/healthz``) it asks that. The slim image has no curl, and needs none.
"""
from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from bot.config import host_port


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        url = args[0]
        if not url.startswith(("http://", "https://")):
            print(f"not a URL: {url!r}", file=sys.stderr)
            return 1
    else:
        listen = os.environ.get("PINTU_METRICS_LISTEN", "")
        if not listen:
            print("PINTU_METRICS_LISTEN is not set: nothing to check", file=sys.stderr)
            return 1
        host, port = host_port(listen)
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        url = f"http://{host}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            print(answer.read().decode())
            return 0 if answer.status == 200 else 1
    except urllib.error.HTTPError as error:  # 503: the body says what is wrong
        print(error.read().decode(), file=sys.stderr)
        return 1
    except OSError as error:
        print(f"health endpoint unreachable: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
