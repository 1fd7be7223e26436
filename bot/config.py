"""Settings from the environment (documented in docs/operations.md, Configuration)."""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field

from domain.invites import secret_problem

DEFAULT_API_URL = "https://api.telegram.org"


@dataclass(frozen=True)
class Settings:
    bot_token: str = ""
    api_url: str = DEFAULT_API_URL
    database_url: str = "sqlite:///pintu.db"
    framework: str = "ptb"  # ptb | aiogram
    invite_secret: str = ""
    data_key: str = ""  # PINTU_DATA_KEY (storage/crypto.py); "": the environment's, or SQLite's key file
    bot_username: str = ""  # learnt from getMe when empty
    send_rate: float = 30.0  # messages per second for the whole bot
    per_chat_interval: float = 1.0  # seconds between two messages to one chat, once its burst is used
    per_chat_burst: int = 2  # messages one private chat may get at once (Telegram tolerates short bursts;
    # the simulator, like Telegram, allows 3: one fewer leaves a margin for the clocks of the two sides)
    outbox_interval: float = 1.0  # seconds between two outbox dispatcher runs
    reply_deadline: float = 30.0  # seconds a reply may take in the bot process before the outbox takes it over
    reply_grace: float = 60.0  # seconds after a step when the dispatcher sends a reply its process did not settle
    outbox_keep_days: int = 30  # settled outbox rows are purged after this many days; 0 keeps them for ever
    # Retention of personal data (scheduling/retention.py, nightly): a half-finished registration or
    # questionnaire untouched this long is deleted; a record (answers, geotag, photos) this long after
    # the central registry received it. 0 keeps them for ever.
    draft_keep_days: int = 30
    record_keep_days: int = 365
    log_level: str = "INFO"
    log_format: str = "text"  # text | json (JSON lines; the Docker image's default)
    # Deployment (docs/operations.md, Deploy): how updates arrive, what this process does, where ops endpoints listen.
    mode: str = "polling"  # polling | webhook
    webhook_url: str = ""  # the public HTTPS URL Telegram POSTs to (its path is served locally)
    webhook_listen: str = "0.0.0.0:8443"  # host:port of the webhook's HTTP server (behind the TLS proxy)
    webhook_secret: str = ""  # X-Telegram-Bot-Api-Secret-Token: 1-256 of A-Z a-z 0-9 _ -
    role: str = "all"  # all | bot (updates only) | dispatcher (outbox only)
    # Several bots in one deployment (domain/bots.py): this process's bot and the area codes it serves.
    bot_key: str = ""  # PINTU_BOT_KEY; "": the deployment's only bot, serving every area
    bot_areas: tuple[str, ...] = ()  # PINTU_BOT_AREAS, e.g. "64.72" or "64.72,64.74"
    metrics_listen: str = ""  # host:port for /healthz and /metrics; empty: not served
    max_outbox_lag: float = 600.0  # seconds the oldest due outbox row may wait before /healthz says 503
    # Central registry (docs/registry.md): where completed records are forwarded.
    registry_url: str = ""  # empty: records are queued but not forwarded
    registry_token: str = ""  # bearer token; never logged
    registry_auth: str = "bearer"  # bearer | token | basic | digest | central | central-app-user | none
    registry_user: str = ""  # basic, digest; central: the web user's email
    registry_password: str = field(default="", repr=False)  # never logged
    registry_read_token: str = ""  # `pintu registry serve`: the token that may read records back
    registry_format: str = "json"  # json | openrosa
    registry_timeout: float = 30.0  # seconds to send a request and to wait for the answer
    registry_connect_timeout: float = 10.0  # seconds to open the connection
    registry_interval: float = 5.0  # seconds between two forwarding runs in the bot process
    media_dir: str = "media"  # where record photos are stored (RecordPhoto.path is relative to it)
    forms_dir: str = "forms"  # XLSForms as {form_id}.xlsx, for the OpenRosa format
    form_path: str = ""  # PINTU_FORM: the XLSForm the chat questionnaire runs; "": the default first-visit form
    # Field capture (domain/geotag.py): a shared location less accurate than this is asked again; one
    # farther than this from the kelurahan's centre must be confirmed and is flagged for review.
    geo_max_accuracy_m: float = 100.0
    geo_max_distance_km: float = 5.0
    # The web dashboard (docs/dashboard.md): its public base URL (the sign-in links point there) and where
    # `pintu web` listens (behind the TLS proxy).
    web_url: str = ""  # PINTU_WEB_URL, e.g. https://pintu.example.go.id/dasbor; "": /dasbor says it is off
    web_listen: str = "127.0.0.1:8090"  # PINTU_WEB_LISTEN
    # The dashboard map's basemap (optional): a tile URL template with {z}/{x}/{y} and the attribution
    # shown under it; without one the map shows the SLS outlines alone (works on a closed network).
    tile_url: str = ""  # PINTU_TILE_URL, e.g. https://tiles.example.go.id/{z}/{x}/{y}.png
    tile_attribution: str = ""  # PINTU_TILE_ATTRIBUTION, e.g. "© OpenStreetMap contributors"
    # The data controller the privacy notices name (UU 27/2022), and a contact for the data subjects.
    controller_name: str = "BPS Kabupaten/Kota"
    controller_contact: str = "https://www.bps.go.id"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def web_cookie_secure(self) -> bool:
        """Session cookies are Secure, except for a demo on http://localhost (browsers keep those too)."""
        return not is_local_http(self.web_url)

    @property
    def outbox_keep(self) -> dt.timedelta | None:
        return dt.timedelta(days=self.outbox_keep_days) if self.outbox_keep_days > 0 else None

    @property
    def draft_keep(self) -> dt.timedelta | None:
        return dt.timedelta(days=self.draft_keep_days) if self.draft_keep_days > 0 else None

    @property
    def record_keep(self) -> dt.timedelta | None:
        return dt.timedelta(days=self.record_keep_days) if self.record_keep_days > 0 else None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        framework = env.get("PINTU_FRAMEWORK", "ptb").lower()
        if framework not in ("ptb", "aiogram"):
            raise ValueError(f"PINTU_FRAMEWORK must be 'ptb' or 'aiogram', not {framework!r}")
        return cls(
            bot_token=env.get("TELEGRAM_BOT_TOKEN", ""),
            api_url=env.get("TELEGRAM_API_URL", DEFAULT_API_URL).rstrip("/"),
            database_url=env.get("DATABASE_URL", "sqlite:///pintu.db"),
            framework=framework,
            invite_secret=env.get("PINTU_INVITE_SECRET", ""),
            data_key=env.get("PINTU_DATA_KEY", "").strip(),
            bot_username=env.get("PINTU_BOT_USERNAME", ""),
            send_rate=float(env.get("PINTU_SEND_RATE", "30")),
            per_chat_interval=float(env.get("PINTU_PER_CHAT_INTERVAL", "1.0")),
            per_chat_burst=int(env.get("PINTU_PER_CHAT_BURST", "2")),
            outbox_interval=float(env.get("PINTU_OUTBOX_INTERVAL", "1.0")),
            reply_deadline=float(env.get("PINTU_REPLY_DEADLINE", "30")),
            reply_grace=float(env.get("PINTU_REPLY_GRACE", "60")),
            outbox_keep_days=_non_negative_int(env, "PINTU_OUTBOX_KEEP_DAYS", 30),
            draft_keep_days=_non_negative_int(env, "PINTU_DRAFT_KEEP_DAYS", 30),
            record_keep_days=_non_negative_int(env, "PINTU_RECORD_KEEP_DAYS", 365),
            log_level=env.get("PINTU_LOG_LEVEL", "INFO").upper(),
            log_format=_log_format(env.get("PINTU_LOG_FORMAT", "text")),
            controller_name=env.get("PINTU_CONTROLLER_NAME", "").strip() or cls.controller_name,
            controller_contact=env.get("PINTU_CONTROLLER_CONTACT", "").strip() or cls.controller_contact,
            **_deploy_settings(env),
            **_registry_settings(env),
            **_capture_settings(env),
            **_web_settings(env),
            **_tile_settings(env),
        )

    def require_bot(self) -> None:
        """Fail early, with a sentence an operator understands, when the bot cannot start."""
        if not self.bot_token:
            raise SystemExit("TELEGRAM_BOT_TOKEN is not set (see docs/operations.md, Configuration).")
        problem = secret_problem(self.invite_secret)
        if problem is not None:
            raise SystemExit(f"PINTU_INVITE_SECRET is {problem}: invites could not be trusted. "
                             "Make one with `pintu secret new` (see docs/operations.md, Configuration).")
        if self.mode == "webhook" and self.role != "dispatcher":
            if not self.webhook_url:
                raise SystemExit("PINTU_MODE=webhook needs PINTU_WEBHOOK_URL, the public HTTPS URL (see docs/operations.md, Deploy).")
            if not WEBHOOK_SECRET.fullmatch(self.webhook_secret):
                raise SystemExit("PINTU_MODE=webhook needs PINTU_WEBHOOK_SECRET: 1-256 characters A-Z a-z 0-9 _ - "
                                 "(see docs/operations.md, Deploy).")


# Telegram's rule for setWebhook's secret_token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _deploy_settings(env: dict[str, str]) -> dict[str, object]:
    """PINTU_MODE, PINTU_WEBHOOK_*, PINTU_ROLE, PINTU_METRICS_LISTEN, PINTU_HEALTH_MAX_OUTBOX_LAG."""
    mode = env.get("PINTU_MODE", "polling").lower()
    if mode not in ("polling", "webhook"):
        raise ValueError(f"PINTU_MODE must be 'polling' or 'webhook', not {mode!r}")
    role = env.get("PINTU_ROLE", "all").lower()
    if role not in ("all", "bot", "dispatcher"):
        raise ValueError(f"PINTU_ROLE must be 'all', 'bot' or 'dispatcher', not {role!r}")
    return {
        "mode": mode,
        "webhook_url": env.get("PINTU_WEBHOOK_URL", ""),
        "webhook_listen": env.get("PINTU_WEBHOOK_LISTEN", "0.0.0.0:8443"),
        "webhook_secret": env.get("PINTU_WEBHOOK_SECRET", ""),
        "role": role,
        "metrics_listen": env.get("PINTU_METRICS_LISTEN", ""),
        "max_outbox_lag": float(env.get("PINTU_HEALTH_MAX_OUTBOX_LAG", "600")),
        **_bot_scope(env),
    }


BOT_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
AREA_CODE = re.compile(r"^\d+(\.\d+)*$")


def _bot_scope(env: dict[str, str]) -> dict[str, object]:
    """PINTU_BOT_KEY and PINTU_BOT_AREAS: both or neither."""
    key = env.get("PINTU_BOT_KEY", "").strip().lower()
    areas = tuple(code.strip() for code in env.get("PINTU_BOT_AREAS", "").replace(";", ",").split(",") if code.strip())
    if bool(key) != bool(areas):
        raise ValueError("PINTU_BOT_KEY and PINTU_BOT_AREAS go together (several bots: each its key and its areas)")
    if key and not BOT_KEY.match(key):
        raise ValueError(f"PINTU_BOT_KEY must be 1-32 of a-z 0-9 _ -, not {key!r}")
    bad = [code for code in areas if not AREA_CODE.match(code)]
    if bad:
        raise ValueError(f"PINTU_BOT_AREAS must be area codes like 64.72, not {', '.join(bad)}")
    return {"bot_key": key, "bot_areas": areas}


def host_port(listen: str) -> tuple[str, int]:
    """``"host:port"`` (``"[::]:8443"`` for IPv6, ``":8443"`` for every interface) as (host, port)."""
    host, _, port = listen.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"expected host:port, not {listen!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def _registry_settings(env: dict[str, str]) -> dict[str, object]:
    """PINTU_REGISTRY_URL, _TOKEN, _AUTH, _USER, _PASSWORD, _READ_TOKEN, _FORMAT, _TIMEOUT, _CONNECT_TIMEOUT,
    _INTERVAL, PINTU_MEDIA_DIR, PINTU_FORMS_DIR."""
    from registry.auth import SCHEMES

    auth = env.get("PINTU_REGISTRY_AUTH", "bearer").strip().lower()
    if auth not in SCHEMES:
        raise ValueError(f"PINTU_REGISTRY_AUTH must be one of {', '.join(SCHEMES)}, not {auth!r}")
    fmt = env.get("PINTU_REGISTRY_FORMAT", "json").lower()
    if fmt not in ("json", "openrosa"):
        raise ValueError(f"PINTU_REGISTRY_FORMAT must be 'json' or 'openrosa', not {fmt!r}")
    url = env.get("PINTU_REGISTRY_URL", "").strip()
    if url and not url.startswith(("http://", "https://")):
        raise ValueError("PINTU_REGISTRY_URL must start with https:// (or http:// on a private network)")
    timeout = float(env.get("PINTU_REGISTRY_TIMEOUT", "30"))
    connect_timeout = float(env.get("PINTU_REGISTRY_CONNECT_TIMEOUT", "10"))
    if timeout <= 0 or connect_timeout <= 0:
        raise ValueError("PINTU_REGISTRY_TIMEOUT and PINTU_REGISTRY_CONNECT_TIMEOUT must be positive")
    return {
        "registry_url": url,
        "registry_token": env.get("PINTU_REGISTRY_TOKEN", "").strip(),
        "registry_auth": auth,
        "registry_user": env.get("PINTU_REGISTRY_USER", "").strip(),
        "registry_password": env.get("PINTU_REGISTRY_PASSWORD", ""),
        "registry_read_token": env.get("PINTU_REGISTRY_READ_TOKEN", "").strip(),
        "registry_format": fmt,
        "registry_timeout": timeout,
        "registry_connect_timeout": connect_timeout,
        "registry_interval": float(env.get("PINTU_REGISTRY_INTERVAL", "5")),
        "media_dir": env.get("PINTU_MEDIA_DIR", "media"),
        "forms_dir": env.get("PINTU_FORMS_DIR", "forms"),
        "form_path": env.get("PINTU_FORM", ""),
    }


def _capture_settings(env: dict[str, str]) -> dict[str, object]:
    """PINTU_GEO_MAX_ACCURACY_M and PINTU_GEO_MAX_DISTANCE_KM (field capture's geotag limits)."""
    accuracy = float(env.get("PINTU_GEO_MAX_ACCURACY_M", "100"))
    distance = float(env.get("PINTU_GEO_MAX_DISTANCE_KM", "5"))
    if accuracy <= 0 or distance <= 0:
        raise ValueError("PINTU_GEO_MAX_ACCURACY_M and PINTU_GEO_MAX_DISTANCE_KM must be positive")
    return {"geo_max_accuracy_m": accuracy, "geo_max_distance_km": distance}


def is_local_http(url: str) -> bool:
    return re.match(r"^http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(/|$)", url) is not None


def _web_settings(env: dict[str, str]) -> dict[str, object]:
    """PINTU_WEB_URL (https://, or http://localhost for a demo) and PINTU_WEB_LISTEN."""
    url = env.get("PINTU_WEB_URL", "").strip().rstrip("/")
    if url and not (url.startswith("https://") or is_local_http(url)):
        raise ValueError("PINTU_WEB_URL must start with https:// (http:// only for localhost): the session cookie is Secure")
    listen = env.get("PINTU_WEB_LISTEN", "127.0.0.1:8090").strip()
    host_port(listen)
    return {"web_url": url, "web_listen": listen}


def _tile_settings(env: dict[str, str]) -> dict[str, object]:
    """PINTU_TILE_URL (https://, as the page's Content-Security-Policy allows, with {z}, {x} and {y}) and
    PINTU_TILE_ATTRIBUTION."""
    url = env.get("PINTU_TILE_URL", "").strip()
    if url and (not url.startswith("https://") or not all(p in url for p in ("{z}", "{x}", "{y}"))):
        raise ValueError("PINTU_TILE_URL must be an https:// URL template with {z}, {x} and {y}")
    return {"tile_url": url, "tile_attribution": env.get("PINTU_TILE_ATTRIBUTION", "").strip()}


def _log_format(value: str) -> str:
    """PINTU_LOG_FORMAT: ``text`` or ``json`` (bot/logging_setup.py)."""
    fmt = value.strip().lower()
    if fmt not in ("text", "json"):
        raise ValueError(f"PINTU_LOG_FORMAT must be 'text' or 'json', not {value!r}")
    return fmt


def _non_negative_int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default)).strip()
    if not raw.isdigit():
        raise ValueError(f"{name} must be a whole number of days (0 or more), not {raw!r}")
    return int(raw)
