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


# A value written with these characters only and at least TOKEN_MIN long (a Secure Vault
# cipher text, also as cipher-text.properties escapes it, ending "\=\="; a generated key) can
# only appear inside a run of them in a text.
_TOKEN_CHARS = r"A-Za-z0-9+/=_\\-"
TOKEN_MIN = 32


def _key(pair: tuple[str, str]) -> tuple[int, str]:
    return -len(pair[0]), pair[0]  # longest first (a secret that contains another is masked whole)


def _insert(pairs: list[tuple[str, str]], lengths: list[int], pair: tuple[str, str]) -> None:
    """PAIR into PAIRS (kept in _key order) and its negated length into LENGTHS."""
    i = bisect.bisect_left(pairs, _key(pair), key=_key)
    pairs.insert(i, pair)
    lengths.insert(i, -len(pair[0]))


class _Tokens:
    """The long token-like forms of a set (at 128 nodes a run has a thousand cipher
    texts): found by one regular-expression pass over a text's runs of token characters,
    each run looked up whole, instead of a thousand substring searches per text. A run
    that is not a form whole is searched for each form, longest first (_replace_each)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs  # longest first
        self.lengths = [-len(form) for form, _ in pairs]
        self.whole = dict(pairs)
        self._runs(-self.lengths[-1])

    def _runs(self, shortest: int) -> None:
        self.shortest = shortest
        self.runs = re.compile(f"[{_TOKEN_CHARS}]{{{shortest},}}")

    def with_pair(self, pair: tuple[str, str]) -> "_Tokens":
        """A copy with PAIR added (this one may be in use by another thread's masking)."""
        new = object.__new__(_Tokens)
        new.pairs, new.lengths, new.whole = list(self.pairs), list(self.lengths), dict(self.whole)
        _insert(new.pairs, new.lengths, pair)
        new.whole[pair[0]] = pair[1]
        if len(pair[0]) < self.shortest:
            new._runs(len(pair[0]))
        else:
            new.shortest, new.runs = self.shortest, self.runs
        return new

    def mask(self, text: str) -> str:
        return self.runs.sub(self._run, text) if len(text) >= self.shortest else text

    def _run(self, m: re.Match) -> str:
        run = m.group(0)
        masked = self.whole.get(run)
        return masked if masked is not None else _replace_each(run, self.lengths, self.pairs)


_TOKEN = re.compile(f"[{_TOKEN_CHARS}]{{{TOKEN_MIN},}}")


def _pairs_of(values) -> list[tuple[str, str]]:  # noqa: ANN001 - an iterable of str
    """Every (form, masked form) of VALUES, in _key order."""
    return sorted({(form, masked) for value in values if len(value) >= 3
                   for masked, forms in [_forms(value)] for form in forms}, key=_key)


def _split(pairs: list[tuple[str, str]]) -> tuple[_Tokens | None, list[tuple[str, str]]]:
    """The token-like forms apart, when every other form is shorter than all of them: then
    mask_values's longest-first order masks them all before any other form, which is the
    order this keeps (a shorter secret never cuts into a longer one)."""
    tokens: list[tuple[str, str]] = []
    rest: list[tuple[str, str]] = []
    for p in pairs:
        (tokens if _TOKEN.fullmatch(p[0]) else rest).append(p)
    if len(tokens) < 2 or (rest and len(rest[0][0]) >= len(tokens[-1][0])):
        return None, pairs
    return _Tokens(tokens), rest


class _Built:
    """What masking uses of a set's values: the token-like forms apart (_split), the
    others' pairs longest first with their negated lengths for bisect. Values added
    later are inserted into a copy (a run adds a thousand cipher texts one node at a
    time, and sorting every form again at each was most of 04's plan at 128 workers;
    a copy, because another thread may be masking with this one), unless one would
    change how the forms are split or shares a form: then all is built anew."""

    def __init__(self, values: list[str]) -> None:
        self.included = frozenset(values)
        self.tokens, self.pairs = _split(_pairs_of(values))
        self.lengths = [-len(form) for form, _ in self.pairs]

    def extended(self, values: set[str]) -> "_Built | None":
        """A copy with VALUES' forms added; None when the set must be built anew."""
        tokens, pairs, lengths = self.tokens, list(self.pairs), list(self.lengths)
        known = set(tokens.whole) if tokens else set()
        known.update(form for form, _ in pairs)
        for pair in _pairs_of(values):
            form = pair[0]
            if form in known:  # two values written alike: the full build decides which mask wins
                return None
            if tokens is None:
                if _TOKEN.fullmatch(form):
                    return None  # perhaps enough tokens now to set them apart
                _insert(pairs, lengths, pair)
            elif _TOKEN.fullmatch(form):
                if pairs and len(pairs[0][0]) >= len(form):
                    return None
                tokens = tokens.with_pair(pair)
            elif len(form) >= tokens.shortest:
                return None
            else:
                _insert(pairs, lengths, pair)
            known.add(form)
        new = object.__new__(_Built)
        new.included, new.tokens, new.pairs, new.lengths = self.included | values, tokens, pairs, lengths
        return new


_built: dict[int, tuple] = {}  # by id(values): (values, version, _Built)


def _pairs(values) -> tuple[_Tokens | None, list[int], list[tuple[str, str]]]:  # noqa: ANN001 - an iterable of str
    """(token-like forms, negated lengths, pairs) of VALUES (_Built), kept for a ValueSet
    and brought up to its version."""
    kept = _built.get(id(values))
    if kept is not None and kept[0] is values and kept[1] == values.version:
        built = kept[2]
        return built.tokens, built.lengths, built.pairs
    if not isinstance(values, ValueSet):
        built = _Built(list(values))
        return built.tokens, built.lengths, built.pairs
    version, now = values.snapshot()
    built = kept[2] if kept is not None and kept[0] is values else None
    if built is not None:  # brought up to date in a copy: other threads may be masking with it
        now_set = set(now)
        built = built.extended(now_set - built.included) if built.included <= now_set else None
    if built is None:
        built = _Built(now)
    _built[id(values)] = (values, version, built)  # each entry whole: a thread's older one is only redone
    return built.tokens, built.lengths, built.pairs


def mask_values(text: str, values) -> str:  # noqa: ANN001 - an iterable of str
    """Replace each of VALUES (and its XML/HTML-escaped forms) in TEXT by its masked form."""
    tokens, lengths, pairs = _pairs(values)
    if tokens is not None:
        text = tokens.mask(text)
    return _replace_each(text, lengths, pairs)


def _replace_each(text: str, lengths: list[int], pairs: list[tuple[str, str]]) -> str:
    """Each form of PAIRS (longest first; LENGTHS their negated lengths) that TEXT holds
    replaced by its masked form; none longer than TEXT is searched."""
    for form, masked in pairs[bisect.bisect_left(lengths, -len(text)):]:
        if form in text:
            text = text.replace(form, masked)
    return text
