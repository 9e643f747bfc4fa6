"""Masking by value: a secret's masked form, ``***(a1f3)``, and a text with
every value of a set replaced by it (as is and XML/HTML-escaped). The
fingerprint is an HMAC under a key made for this run and held in memory only
(redact.py's docstring says why). Used by redact.py (values found at secret
locations) and params/secrets.py (values the params resolved)."""

from __future__ import annotations

import bisect
import functools
import hashlib
import hmac
import html
import os
import re
import secrets as _random
import threading

KEY_ENV = "RUNBOOK_MASK_KEY"  # how the runner hands its key to the kernels it starts (memory only)
VAULT_REFERENCE = "secretAlias:"  # cipher-tool's form for a value kept in cipher-text.properties
MASKED = re.compile(r"\*\*\*(?:\([0-9a-f]{4}\))?")


class ValueSet(set):
    """A set of secret values that counts its changes, so the masking forms built from it are
    kept until it changes (masking runs tens of thousands of times per section)."""

    version = 0

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()  # added to from several threads (a fan-out's hosts)

    def add(self, value: str) -> None:
        with self._lock:
            if value not in self:
                super().add(value)
                self.version += 1

    def discard(self, value: str) -> None:
        with self._lock:
            if value in self:
                super().discard(value)
                self.version += 1

    def snapshot(self) -> tuple[int, list[str]]:
        """Its version and values, read together."""
        with self._lock:
            return self.version, list(self)

    def _refuse(self, *_a: object) -> None:
        raise TypeError("ValueSet changes only by add() and discard(), which keep its version")

    remove = pop = clear = update = difference_update = intersection_update = symmetric_difference_update = _refuse
    __ior__ = __iand__ = __isub__ = __ixor__ = _refuse


def _load_key() -> bytes:
    try:
        key = bytes.fromhex(os.environ.get(KEY_ENV, ""))
    except ValueError:
        key = b""
    return key if len(key) == 32 else _random.token_bytes(32)


_KEY = _load_key()


def share_key() -> None:
    """Put this process's key in its environment, so the kernels a run starts
    fingerprint as it does (stable within the run). Never written to a file."""
    os.environ[KEY_ENV] = _KEY.hex()


def fingerprint(value: str) -> str:
    return hmac.new(_KEY, value.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:4]


def mask_value(value: str) -> str:
    """``***(fp)`` for a secret value. Empty and already masked values stay as
    they are, and so does a secure-vault reference (``secretAlias:NAME``: a name)."""
    if not value or MASKED.fullmatch(value.strip()) or value.startswith(VAULT_REFERENCE):
        return value
    return f"***({fingerprint(value)})"


@functools.lru_cache(maxsize=8192)
def _forms(value: str) -> tuple[str, tuple[str, ...]]:
    """VALUE's masked form and the forms it is written in (as is, XML/HTML-escaped).
    Kept, as the key is fixed for the process: a summary re-drawn at every step
    masks the same values again and again (hashing them was most of a kernel's time)."""
    escaped = html.escape(value)
    return mask_value(value), tuple(dict.fromkeys((value, html.escape(value, quote=False), escaped,
                                                   escaped.replace("&#x27;", "&#39;"))))


_ordered: dict[int, tuple[ValueSet, int, list[int], list[tuple[str, str]]]] = {}  # by id(values)


def _pairs(values) -> tuple[list[int], list[tuple[str, str]]]:  # noqa: ANN001 - an iterable of str
    """Every (form, masked form) of VALUES, longest first (a secret that contains another is
    masked whole), with their negated lengths for bisect; kept for a ValueSet until it changes."""
    kept = _ordered.get(id(values))
    if kept is not None and kept[0] is values and kept[1] == values.version:
        return kept[2], kept[3]
    version, now = values.snapshot() if isinstance(values, ValueSet) else (None, list(values))
    pairs = sorted({(form, masked) for value in now if len(value) >= 3
                    for masked, forms in [_forms(value)] for form in forms}, key=lambda p: (-len(p[0]), p[0]))
    lengths = [-len(form) for form, _ in pairs]
    if isinstance(values, ValueSet):
        _ordered[id(values)] = (values, version, lengths, pairs)
    return lengths, pairs


def mask_values(text: str, values) -> str:  # noqa: ANN001 - an iterable of str
    """Replace each of VALUES (and its XML/HTML-escaped forms) in TEXT by its masked form."""
    lengths, pairs = _pairs(values)
    for form, masked in pairs[bisect.bisect_left(lengths, -len(text)):]:  # none longer than TEXT
        if form in text:
            text = text.replace(form, masked)
    return text
