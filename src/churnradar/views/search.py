"""Finding a subscriber by subscriber id or by phone number, within the reader's regions.

The store keeps no phone number: ingest replaces each one by its keyed HMAC-SHA256
(``subscription.msisdn_hash``, :mod:`churnradar.ingest.pseudonymise`). A phone search hashes the
number the way ingest did — the same key (``CHURNRADAR_HMAC_KEY`` or ``CHURNRADAR_HMAC_KEY_FILE``,
checked against the fingerprint the store was loaded with), the same cleaning and shape check, the
same :func:`~churnradar.ingest.pseudonymise.hmac_hex` — and looks the digest up. The number itself
is never stored, returned or put in a message.

Matches outside the reader's scope are invisible: a number or id of another region answers exactly
as one that does not exist.
"""

from __future__ import annotations

import re
from typing import Any

from churnradar.errors import ChurnRadarError
from churnradar.ingest.limits import IDENTIFIER_SHAPES
from churnradar.ingest.pseudonymise import HOW_TO_SET_KEY, hmac_hex, key_fingerprint, resolve_key
from churnradar.views.scope import RegionScope, grid_filter
from churnradar.views.store import ReadStore

#: what a subscriber id may look like (ids are trimmed and upper-cased at ingest)
SUBSCRIBER_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
#: the shape ingest accepts for a raw phone number, before it is hashed
PHONE = re.compile(IDENTIFIER_SHAPES["msisdn"][0])
#: separators people type inside a number (``138 1234 5678``, ``138-1234-5678``)
_SEPARATORS = re.compile(r"[\s\-]")
MAX_QUERY = 128
#: matches shown at most (a recycled number may have had several subscriptions)
MAX_MATCHES = 20


class SearchError(ChurnRadarError):
    """A search query that is neither a subscriber id nor a phone number (the message never repeats it)."""


class PhoneSearchUnavailable(ChurnRadarError):
    """A phone search without the operator's HMAC key, or with another key than the store's."""


def phone_form(query: str) -> str | None:
    """The phone number as ingest hashes it (surrounding whitespace removed; spaces and dashes typed
    inside the number dropped), or None when the query is not shaped like a phone number."""
    text = _SEPARATORS.sub("", query.strip())
    return text if PHONE.fullmatch(text) else None


def id_form(query: str) -> str | None:
    """The subscriber id as ingest stores it (trimmed, upper-cased), or None when it cannot be one."""
    text = query.strip().upper()
    return text if SUBSCRIBER_ID.fullmatch(text) else None


def operator_key(store: ReadStore) -> bytes:
    """The HMAC key ingest used for this store (from the environment, as ingest reads it).

    Raises :class:`PhoneSearchUnavailable` when no key is configured, or when its fingerprint differs
    from the one the store was loaded with (its digests would never match)."""
    from churnradar.errors import PseudonymisationKeyError

    try:
        key = resolve_key(store_path=store.path)
    except PseudonymisationKeyError as exc:
        raise PhoneSearchUnavailable(f"phone search is not available: {exc}") from None
    if key is None:
        raise PhoneSearchUnavailable(f"phone search needs the operator's HMAC key: {HOW_TO_SET_KEY}")
    stored = store.memo("key_fingerprint", lambda: _stored_fingerprint(store))
    if stored is not None and stored != key_fingerprint(key):
        raise PhoneSearchUnavailable(
            f"phone search is not available: the configured HMAC key is not the key this store was "
            f"loaded with (fingerprint {stored}); configure the key ingest used"
        )
    return key


def _stored_fingerprint(store: ReadStore) -> str | None:
    if not store.has("_meta"):
        return None
    return store.value("SELECT value FROM _meta WHERE key = 'key_fingerprint'")


def phone_digest(store: ReadStore, phone: str) -> str:
    """``subscription.msisdn_hash`` of a raw phone number: the digest ingest stored for it."""
    form = phone_form(phone)
    if form is None:
        raise SearchError(f"the search text {IDENTIFIER_SHAPES['msisdn'][1]}")
    return hmac_hex(operator_key(store), form)


def find_subscribers(store: ReadStore, scope: RegionScope, query: str) -> dict[str, Any]:
    """Subscribers in ``scope`` whose id is ``query`` or whose phone number is ``query``.

    A query shaped like a phone number is also looked up as a phone (hashed with the operator's key);
    any query shaped like an id is looked up as an id. Returns ``{"matches": [...], "by_phone":
    bool, "phone_unavailable": bool}``: each match with its id, what matched (``id`` or ``phone``),
    activation date and region, id matches first, then the newest subscription of the number. Out-of-scope subscribers are never
    among the matches. Raises :class:`SearchError` when the query can be neither, and
    :class:`PhoneSearchUnavailable` when it can only be a phone and no usable key is configured
    (``phone_unavailable`` says so when it was looked up as an id only).
    """
    if len(query) > MAX_QUERY:
        raise SearchError(f"search text too long ({len(query)} characters); expected at most {MAX_QUERY}")
    sid, phone = id_form(query), phone_form(query)
    if sid is None and phone is None:
        raise SearchError(
            "the search text is neither a subscriber id nor a phone number; expected an id (letters, "
            "digits, '_', '.', ':', '-') or 5 to 15 digits"
        )
    digest, unavailable = None, False
    if phone is not None:
        try:
            digest = phone_digest(store, phone)
        except PhoneSearchUnavailable:
            if sid is None:
                raise
            unavailable = True  # still looked up as an id
    pred, params = grid_filter(scope, "s.grid_id")
    rows = store.rows(
        f"""SELECT s.subscriber_id, s.subscriber_id = ? AS by_id, s.activation_date, s.grid_id,
                   r.grid_name, r.county_id, r.county_name, r.county_name_en
            FROM subscription s LEFT JOIN region r ON r.grid_id = s.grid_id
            WHERE {pred} AND (s.subscriber_id = ? OR s.msisdn_hash = ?)
            ORDER BY by_id DESC, s.activation_date DESC, s.subscriber_id
            LIMIT {MAX_MATCHES}""",
        [sid, *params, sid, digest],
    )
    matches = [
        {**{k: v for k, v in r.items() if k != "by_id"}, "matched": "id" if r["by_id"] else "phone"}
        for r in rows
    ]
    return {"matches": matches, "by_phone": digest is not None, "phone_unavailable": unavailable}
