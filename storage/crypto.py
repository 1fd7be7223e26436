"""Personal identifiers encrypted at rest, one field at a time (UU 27/2022, PDP).

A KK number (and the NIK of the household roster) is stored as ``key_id:base64url(nonce || AES-GCM
ciphertext and tag)``: authenticated, so a changed byte is refused, and bound to its field (the field's
name is the associated data, so a ciphertext cannot be moved into another column). The random nonce
makes two equal numbers look different; equality (uniqueness, lookup) goes through a *blind index*:
HMAC-SHA256 of the number under a key derived from the data key. A dump of the database without the
key shows neither the numbers nor a way to test a guess.

Keys: ``PINTU_DATA_KEY`` is ``id:base64url(32 bytes)``, or several separated by commas: the first
encrypts and indexes, the others only decrypt (and find) what was written before a rotation;
``pintu keys rotate`` rewrites every row under the first. ``pintu keys new`` prints a key.

Without ``PINTU_DATA_KEY`` (development, the demo, the tests) an SQLite file gets its own key, made on
first use into ``<database>.key`` beside it (mode 0600); an in-memory database gets one per process.
PostgreSQL (production) refuses to start without the variable.

Each engine carries its keyring on its dialect (:func:`attach_keyring`), so the column type below can
encrypt and decrypt without a global and two engines may use different keys.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import JSON, String, TypeDecorator, bindparam

from domain.answer_names import is_nik_name

log = logging.getLogger(__name__)

KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
KEY_BYTES = 32
NONCE_BYTES = 12
# Room for a 16-digit KK or NIK: key id (16) + ":" + base64url(12 + 16 + 16 bytes) = 60 characters.
CIPHERTEXT_LENGTH = 96


class DataKeyError(ValueError):
    """PINTU_DATA_KEY is missing where it must be given, or malformed."""


class UndecryptableField(ValueError):
    """A stored value whose key is not in the keyring, or that was changed."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class DataKey:
    key_id: str
    secret: bytes

    @cached_property
    def index_key(self) -> bytes:
        # A key of its own for the blind index: the encryption key never meets HMAC.
        return hmac.new(self.secret, b"pintu-blind-index-v1", hashlib.sha256).digest()

    @cached_property
    def aead(self) -> AESGCM:
        return AESGCM(self.secret)


class Keyring:
    """The data keys of a deployment: the first is current, the rest decrypt older rows."""

    def __init__(self, keys: list[DataKey]) -> None:
        if not keys:
            raise DataKeyError("a keyring needs at least one key")
        ids = [key.key_id for key in keys]
        if len(set(ids)) != len(ids):
            raise DataKeyError("PINTU_DATA_KEY names one key id twice")
        self.keys = keys
        self._by_id = {key.key_id: key for key in keys}

    @property
    def current(self) -> DataKey:
        return self.keys[0]

    @classmethod
    def parse(cls, spec: str) -> "Keyring":
        keys = []
        for part in (p.strip() for p in spec.split(",")):
            key_id, sep, encoded = part.partition(":")
            if not sep or not KEY_ID.match(key_id):
                raise DataKeyError("PINTU_DATA_KEY must be id:base64url-key[,id:key...] (make one: pintu keys new)")
            try:
                secret = _unb64(encoded)
            except (ValueError, TypeError):
                raise DataKeyError(f"PINTU_DATA_KEY {key_id!r}: the key is not base64url") from None
            if len(secret) != KEY_BYTES:
                raise DataKeyError(f"PINTU_DATA_KEY {key_id!r}: the key must be {KEY_BYTES} bytes, not {len(secret)}")
            keys.append(DataKey(key_id, secret))
        return cls(keys)

    @classmethod
    def generate(cls, key_id: str = "k1") -> "Keyring":
        return cls([DataKey(key_id, secrets.token_bytes(KEY_BYTES))])

    def spec(self) -> str:
        """The PINTU_DATA_KEY value of this keyring."""
        return ",".join(f"{key.key_id}:{_b64(key.secret)}" for key in self.keys)

    def encrypt(self, field: str, plain: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self.current.aead.encrypt(nonce, plain.encode(), field.encode())
        return f"{self.current.key_id}:{_b64(nonce + sealed)}"

    def decrypt(self, field: str, stored: str) -> str:
        key_id, _, encoded = stored.partition(":")
        key = self._by_id.get(key_id)
        if key is None:
            raise UndecryptableField(f"{field}: key {key_id!r} is not in PINTU_DATA_KEY")
        try:
            raw = _unb64(encoded)
            return key.aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], field.encode()).decode()
        except (InvalidTag, ValueError) as error:
            raise UndecryptableField(f"{field}: the stored value does not verify") from error

    def key_id_of(self, stored: str) -> str:
        return stored.partition(":")[0]

    def blind_index(self, field: str, plain: str) -> str:
        """The current key's index of a value (what is stored and unique)."""
        return _index(self.current, field, plain)

    def blind_indexes(self, field: str, plain: str) -> list[str]:
        """The value's index under every key: a row written before a rotation is still found."""
        return [_index(key, field, plain) for key in self.keys]


def _index(key: DataKey, field: str, plain: str) -> str:
    return hmac.new(key.index_key, f"{field}\0{plain}".encode(), hashlib.sha256).hexdigest()


# Keyrings by engine dialect: resolved on first use, so an engine that never touches an encrypted
# column (the registry service's) needs no key.
_RESOLVER = "_pintu_keyring_resolver"
_KEYRING = "_pintu_keyring"
_lock = threading.Lock()


def attach_keyring(dialect: Any, resolve: Callable[[], Keyring] | Keyring) -> None:
    setattr(dialect, _KEYRING, resolve if isinstance(resolve, Keyring) else None)
    setattr(dialect, _RESOLVER, None if isinstance(resolve, Keyring) else resolve)


def keyring_of(dialect: Any) -> Keyring:
    keyring = getattr(dialect, _KEYRING, None)
    if keyring is not None:
        return keyring
    with _lock:
        keyring = getattr(dialect, _KEYRING, None)
        if keyring is None:
            resolver = getattr(dialect, _RESOLVER, None) or (lambda: keyring_from_env("sqlite://"))
            keyring = resolver()
            setattr(dialect, _KEYRING, keyring)
    return keyring


_process_keyring: Keyring | None = None


def keyring_from_env(url: str, environ: Mapping[str, str] | None = None) -> Keyring:
    """The keyring for the database at ``url``: PINTU_DATA_KEY, else a development key (see above)."""
    global _process_keyring
    env = os.environ if environ is None else environ
    spec = env.get("PINTU_DATA_KEY", "").strip()
    if spec:
        return Keyring.parse(spec)
    if not url.startswith("sqlite"):
        raise DataKeyError("PINTU_DATA_KEY is not set: KK numbers could not be encrypted "
                           "(make a key with `pintu keys new`; see docs/trust.md, Personal data at rest).")
    path = sqlite_path(url)
    if path is None:
        with _lock:
            if _process_keyring is None:
                _process_keyring = Keyring.generate("dev")
            return _process_keyring
    return _key_file_keyring(Path(str(path) + ".key"))


def _key_file_keyring(key_file: Path) -> Keyring:
    """Read the key beside an SQLite file, making it (0600, never overwritten) the first time."""
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Keyring.parse(key_file.read_text().strip())
    keyring = Keyring.generate("dev")
    with os.fdopen(fd, "w") as out:
        out.write(keyring.spec() + "\n")
    return keyring


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL, None for an in-memory database."""
    if url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url:
        return None
    rest = url.split(":///", 1)[1] if ":///" in url else ""
    rest = rest.split("?", 1)[0]
    if rest.startswith("file:"):
        rest = rest.removeprefix("file:")
    return Path(rest) if rest else None


class BlindIndexValue(TypeDecorator[str]):
    """A bound plain value turned into its blind index (current key) when the statement runs."""

    impl = String(64)
    cache_ok = True

    def __init__(self, field: str) -> None:
        super().__init__()
        self.field = field

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else keyring_of(dialect).blind_index(self.field, value)


class EncryptedString(TypeDecorator[str]):
    """A string column stored encrypted under the engine's keyring; ``field`` is its associated data.

    Every write has a new nonce, so SQL cannot compare the ciphertext: ``column == value`` (and
    ``in_``) compare the blind index column named ``index`` instead, under the current key (the
    repositories' look-ups also try older keys, for the time between a key change and the rotation).
    """

    impl = String(CIPHERTEXT_LENGTH)
    cache_ok = True

    class comparator_factory(String.Comparator):  # type: ignore[name-defined]  # noqa: N801
        def _index_column(self) -> Any:
            decorated = self.type
            return self.expr.table.c[decorated.index]

        def __eq__(self, other: Any) -> Any:  # type: ignore[override]
            if other is None:
                return self.expr.is_(None)
            return self._index_column() == bindparam(None, other, type_=BlindIndexValue(self.type.field))

        def __ne__(self, other: Any) -> Any:  # type: ignore[override]
            if other is None:
                return self.expr.is_not(None)
            return self._index_column() != bindparam(None, other, type_=BlindIndexValue(self.type.field))

        def in_(self, other: Any) -> Any:
            field = self.type.field
            return self._index_column().in_([bindparam(None, v, type_=BlindIndexValue(field)) for v in other])

    def __init__(self, field: str, index: str, length: int = CIPHERTEXT_LENGTH) -> None:
        super().__init__(length)
        self.field = field
        self.index = index

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else keyring_of(dialect).encrypt(self.field, value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else keyring_of(dialect).decrypt(self.field, value)


class SealedJSON(TypeDecorator[dict]):
    """A JSON object whose identifier entries (``kk``, ``nik``) are stored encrypted.

    A conversation keeps what was typed between two steps (the KK number before the member count): in
    the database that value is ``{"sealed": "key_id:..."}``, in Python the number again.
    """

    impl = JSON
    cache_ok = True
    SEALED_KEYS = ("kk", "nik")

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if not isinstance(value, dict) or not any(isinstance(value.get(k), str) for k in self.SEALED_KEYS):
            return value
        keyring = keyring_of(dialect)
        return {k: ({"sealed": keyring.encrypt(f"data.{k}", v)} if k in self.SEALED_KEYS and isinstance(v, str) else v)
                for k, v in value.items()}

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if not isinstance(value, dict) or not any(isinstance(value.get(k), dict) for k in self.SEALED_KEYS):
            return value
        keyring = keyring_of(dialect)
        opened = {}
        for k, v in value.items():
            if k in self.SEALED_KEYS and isinstance(v, dict) and "sealed" in v:
                try:
                    opened[k] = keyring.decrypt(f"data.{k}", v["sealed"])
                except UndecryptableField:
                    # Its key was dropped before `pintu keys rotate`: the step asks for the number again
                    # (the flow checks what it has), rather than every message of this user failing.
                    log.warning("a conversation's sealed %s could not be opened and is dropped", k)
                continue
            opened[k] = v
        return opened


class SealedAnswers(TypeDecorator[dict]):
    """A record's answers (JSON) with every NIK stored encrypted, wherever the form puts it.

    A NIK is any answer whose name ends in ``nik`` (``nik``, ``member_nik``, ``member_nik[3]``, case
    ignored), in the engine's draft state and in the completed record alike, nested in a roster's
    lists too: in the database it is ``{"sealed": "key_id:..."}``, in Python the number again. Name
    your NIK questions so (the built-in form does); docs/trust.md, Personal data at rest.
    """

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return value
        keyring = keyring_of(dialect)
        return _walk(value, lambda text: {"sealed": keyring.encrypt(NIK_FIELD, text)}, _is_plain_nik)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return value
        keyring = keyring_of(dialect)
        return _walk(value, lambda sealed: _open_nik(keyring, sealed["sealed"]), _is_sealed)


def _is_plain_nik(key: Any, value: Any) -> bool:
    return is_nik_name(key) and isinstance(value, str) and value != ""


def _is_sealed(key: Any, value: Any) -> bool:
    return is_nik_name(key) and isinstance(value, dict) and isinstance(value.get("sealed"), str)


def _walk(value: Any, change: Any, wanted: Any) -> Any:
    if isinstance(value, dict):
        return {k: change(v) if wanted(k, v) else _walk(v, change, wanted) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, change, wanted) for v in value]
    return value


def _open_nik(keyring: Any, sealed: str) -> str:
    try:
        return keyring.decrypt(NIK_FIELD, sealed)
    except UndecryptableField:
        log.warning("a sealed NIK could not be opened (its key was dropped before `pintu keys rotate`)")
        return ""


KK_FIELD = "families.kk_number"
CLAIM_KK_FIELD = "family_claims.kk_number"  # a pending claim's typed KK (storage/tables.py family_claims)
FKP_KK_FIELD = "fkp_added_families.kk_number"  # a family added at the FKP (storage/tables.py fkp_added_families)
NIK_FIELD = "nik"  # the household roster's NIK: EncryptedString(NIK_FIELD) and blind_index(NIK_FIELD, ...)
