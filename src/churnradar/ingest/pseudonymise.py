"""Pseudonymisation of identifiers: key handling and keyed HMAC-SHA256, in Python and in DuckDB SQL.

The key comes from (first match wins) the ``key`` argument, ``key_file`` argument, the environment
variable ``CHURNRADAR_HMAC_KEY`` (its UTF-8 bytes) or a file named by ``CHURNRADAR_HMAC_KEY_FILE``
(its bytes, surrounding whitespace removed). The key never enters the store; the store keeps only a
fingerprint (an HMAC of a fixed text) so that a batch hashed under another key is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

from churnradar.errors import PseudonymisationKeyError

KEY_ENV = "CHURNRADAR_HMAC_KEY"
KEY_FILE_ENV = "CHURNRADAR_HMAC_KEY_FILE"
MIN_KEY_BYTES = 16
_BLOCK = 64  # SHA-256 block size
_FINGERPRINT_TEXT = b"churnradar key fingerprint v1"

HOW_TO_SET_KEY = (
    f"set {KEY_ENV} (e.g. export {KEY_ENV}=$(python3 -c 'import secrets; print(secrets.token_hex(32))')) "
    f"or pass --key-file FILE (or set {KEY_FILE_ENV}) naming a file outside the store that holds the key; "
    "keep the same key for every batch"
)


def _check_length(key: bytes, origin: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymisationKeyError(
            f"the HMAC key from {origin} is {len(key)} bytes; expected at least {MIN_KEY_BYTES} "
            "(use e.g. 32 random bytes as 64 hex characters)"
        )
    return key


def read_key_file(path: str | Path, store_path: str | Path | None = None) -> bytes:
    """The key held in ``path`` (surrounding whitespace removed); refuses a file inside the store."""
    path = Path(path)
    if store_path is not None:
        store = Path(store_path).resolve()
        resolved = path.resolve()
        if resolved == store or (
            resolved.name.startswith(store.name + ".") and resolved.parent == store.parent
        ):
            raise PseudonymisationKeyError(
                f"key file {path} is the store or one of its files; keep the key outside the store"
            )
    try:
        data = path.read_bytes().strip()
    except OSError as exc:
        raise PseudonymisationKeyError(f"cannot read key file {path}: {exc.strerror or exc}") from None
    return _check_length(data, f"key file {path}")


def resolve_key(
    key: bytes | str | None = None,
    key_file: str | Path | None = None,
    store_path: str | Path | None = None,
) -> bytes | None:
    """The HMAC key to use, or None when none is configured anywhere."""
    if key is not None:
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        return _check_length(raw, "the key argument")
    if key_file is not None:
        return read_key_file(key_file, store_path)
    env = os.environ.get(KEY_ENV)
    if env:
        return _check_length(env.strip().encode("utf-8"), f"${KEY_ENV}")
    env_file = os.environ.get(KEY_FILE_ENV)
    if env_file:
        return read_key_file(env_file, store_path)
    return None


def _block_key(key: bytes) -> bytes:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    return key.ljust(_BLOCK, b"\0")


def hmac_hex(key: bytes, value: str) -> str:
    """HMAC-SHA256 of the UTF-8 bytes of ``value`` as 64 lowercase hex characters."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def hmac_sql(expr: str, key: bytes) -> str:
    """A DuckDB SQL expression computing :func:`hmac_hex` of the VARCHAR ``expr`` (NULL stays NULL).

    HMAC(k, m) = H((k ⊕ opad) ‖ H((k ⊕ ipad) ‖ m)); DuckDB's ``sha256`` returns hex, so the inner
    digest is turned back into bytes with ``unhex``.
    """
    k = _block_key(key)
    ipad = bytes(b ^ 0x36 for b in k).hex()
    opad = bytes(b ^ 0x5C for b in k).hex()
    return f"sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode({expr}))))"


def key_fingerprint(key: bytes) -> str:
    """A short public fingerprint of the key (HMAC of a fixed text), stored to detect a key change."""
    return hmac.new(key, _FINGERPRINT_TEXT, hashlib.sha256).hexdigest()[:16]


#: a run of digits long enough to be a phone, ID-card or IMEI number (landline numbers without an
#: area code have 7 or 8 digits; 8 leaves something to mask between the 3 and 4 digits shown)
_DIGIT_RUN = r"([0-9]{3})[0-9]+([0-9]{4})"
_DIGIT_RUN_RE = re.compile(r"(?<![0-9])([0-9]{3})([0-9]+)([0-9]{4})(?![0-9])")


def mask_sql(expr: str) -> str:
    """SQL that masks an identifier for reports: the first 3 and last 4 characters of a value of 11
    or more (``138****5678``), as many ``*`` as it has characters otherwise."""
    return (
        f"CASE WHEN length({expr}) >= 11 THEN left({expr}, 3) || '****' || right({expr}, 4) "
        f"ELSE repeat('*', length({expr})) END"
    )


def mask_digit_runs_sql(expr: str) -> str:
    """SQL of ``expr`` with every run of 8 or more digits masked as ``138****5678``."""
    return f"regexp_replace({expr}, '{_DIGIT_RUN}', '\\1****\\2', 'g')"


def mask_digit_runs(text: str) -> str:
    """``text`` with every run of 8 or more digits masked as ``138****5678`` (for messages)."""
    return _DIGIT_RUN_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
