"""Settings of one simulator instance."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

STATIC_DIR = Path(__file__).with_name("static")


@dataclass
class SimulatorConfig:
    """Everything a simulator can be tuned with; the defaults mimic Telegram."""

    # Rate limits (Telegram's published guidance). ``rate_limits=False`` switches all of them off.
    rate_limits: bool = True
    global_per_second: float = 30.0
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0
    # Monotonic seconds for the token buckets; tests inject a fake one so they never sleep.
    clock: Callable[[], float] = time.monotonic
    # Unix seconds for message dates and the 48-hour deletion window.
    wall_clock: Callable[[], float] = time.time
    # Webhook delivery: attempts per update before it is given up, pause between attempts.
    webhook_attempts: int = 3
    webhook_retry_delay: float = 0.2
    webhook_timeout: float = 10.0
    # Telegram's limits on files: bots may upload 50 MB and download (getFile) 20 MB.
    max_upload_bytes: int = 50 * 1024 * 1024
    max_download_bytes: int = 20 * 1024 * 1024
    # Longest wait a client may ask for (getUpdates timeout, the chat long poll).
    max_long_poll: float = 50.0
    static_dir: Path = field(default=STATIC_DIR)

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> SimulatorConfig:
        """Build a config from keyword arguments, rejecting unknown names early."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"unknown simulator settings: {', '.join(unknown)}")
        return cls(**kwargs)
