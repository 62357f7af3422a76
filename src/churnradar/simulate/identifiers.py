"""Fictional but well-formed identifiers, made from integers without Python loops.

- Subscriber, customer and other ids: a letter and zero-padded digits (``U000000123``).
- Own MSISDNs: 11 digits ``104xxxxxxxx`` (Chinese mobile numbers start with 13–19, so a 104
  prefix is obviously fictional); competitors' numbers ``105xxxxxxxx``. Digits are a bijective
  affine scramble of the subscription index, so numbers are unique and do not reveal the order.
- Certificate (ID-card) numbers: 18 characters, ``99`` (no such province code) + 15 scrambled
  digits + the ISO 7064 MOD 11-2 check character used by resident ID cards.
- IMEIs: 15 digits, the fictional TAC prefix ``990000`` + 8 scrambled digits + the Luhn check digit.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

OWN_MSISDN_BASE = 104 * 10**8
COMPETITOR_MSISDN_BASE = 105 * 10**8
MSISDN_SPACE = 10**8
CERT_SPACE = 10**15
IMEI_SPACE = 10**8
MAX_MULT = 9 * 10**10
MAX_INDEX = 10**8

_CERT_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CERT_CHECK = np.array(list("10X98765432"))


def scramble(x: np.ndarray, space: int, mult: int, offset: int) -> np.ndarray:
    """Bijective affine map ``(mult * x + offset) % space`` of ``0 ≤ x < space``.

    ``mult`` must be coprime with ``space`` and below ``MAX_MULT`` and ``x`` below ``MAX_INDEX`` so
    that the product fits in int64.
    """
    x = np.asarray(x, dtype=np.int64)
    if x.size and int(x.max()) >= MAX_INDEX:
        raise ValueError(f"index {int(x.max())} too large for a fictional identifier")
    return (np.int64(mult) * x + np.int64(offset % space)) % space


def ids(prefix: str, n: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded decimal ``n`` as an Arrow string array."""
    s = pc.utf8_lpad(pc.cast(pa.array(np.asarray(n, dtype=np.int64)), pa.string()), width, "0")
    if not prefix:
        return s
    return pc.binary_join_element_wise(pa.scalar(prefix), s, "")


def digits_str(n: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal strings of ``n``."""
    return ids("", n, width)


def luhn_check_digit(body: np.ndarray, ndigits: int) -> np.ndarray:
    """Luhn check digit of integer bodies with ``ndigits`` digits."""
    body = np.asarray(body, dtype=np.int64)
    total = np.zeros(body.shape, dtype=np.int64)
    x = body.copy()
    for pos in range(ndigits):  # pos 0 = rightmost digit of the body, doubled
        d = x % 10
        x //= 10
        if pos % 2 == 0:
            d = d * 2
            d = np.where(d > 9, d - 9, d)
        total += d
    return (10 - total % 10) % 10


def imei_numbers(handset: np.ndarray, mult: int, offset: int) -> np.ndarray:
    """15-digit IMEIs (as int64) of handset indices."""
    serial = scramble(handset, IMEI_SPACE, mult, offset)
    body = 990000 * IMEI_SPACE + serial  # 14 digits: TAC 990000xx + serial
    return body * 10 + luhn_check_digit(body, 14)


def certificate_numbers(customer: np.ndarray, mult: int, offset: int) -> pa.Array:
    """18-character fictional ID-card numbers of customer indices."""
    body = 99 * CERT_SPACE + scramble(customer, CERT_SPACE, mult, offset)  # 17 digits
    total = np.zeros(body.shape, dtype=np.int64)
    x = body.copy()
    for pos in range(17):
        total += (x % 10) * _CERT_WEIGHTS[16 - pos]
        x //= 10
    check = _CERT_CHECK[total % 11]
    return pc.binary_join_element_wise(digits_str(body, 17), pa.array(check, pa.string()), "")


def own_msisdn(sub: np.ndarray, mult: int, offset: int) -> np.ndarray:
    """Own-network MSISDNs (int64, 11 digits) of subscription indices."""
    return OWN_MSISDN_BASE + scramble(sub, MSISDN_SPACE, mult, offset)


def competitor_msisdn(person: np.ndarray, mult: int, offset: int) -> np.ndarray:
    """Competitor MSISDNs (int64, 11 digits) of competitor-side person indices."""
    return COMPETITOR_MSISDN_BASE + scramble(person, MSISDN_SPACE, mult, offset)


def coprime_multiplier(rng: np.random.Generator, space: int) -> int:
    """A multiplier coprime with ``space`` (a power of ten): odd and not a multiple of 5."""
    hi = min(space, MAX_MULT)
    while True:
        m = int(rng.integers(hi // 10, hi - 1))
        if m % 2 and m % 5:
            return m
