"""Secrets by where they sit: a password is masked because of the element,
attribute or property that holds it, whether or not the params know its value.

Masking by value (params/secrets.py) only hides what this process resolved; a
password set by hand on a node, a cluster about to be adopted or WSO2's
published default would pass through. Here every password-bearing location
the runbook reads or writes is known by name, and its value is replaced by
``***(a1f3)``: a fingerprint that is an HMAC of the value under a random key
made for this run, held in memory only (never the value, never an unkeyed hash
that a dictionary could reverse). The same value shows the same fingerprint
within a run, so "***(a1f3) -> ***(9c02)" tells the operator a secret differs
and where, and "***(a1f3)" on both sides of a check that it matches.

The locations (one place for this knowledge):
- XML elements whose local name is a password name: datasources' <password>,
  carbon.xml's keystore/truststore <Password> and <KeyPassword>, user-mgt.xml's
  admin <Password>, <SvnPassword>, qpid-config.xml's <keyStorePassword>,
  broker.xml's and axis2.xml's <Password>...;
- <Property|property|parameter name="NAME">VALUE</...> with a password NAME
  (user stores' ConnectionPassword, broker.xml's password, mail.smtp.password);
- attributes with a password name (catalina-server.xml's keystorePass);
- properties lines KEY=VALUE with a password KEY (log4j's ...password), and
  every value of cipher-text.properties;
- URL options (?password=), ``--password VALUE`` and SQL ``IDENTIFIED BY '...'``;
- configedit's notes ("LABEL/SvnPassword: 'a' -> 'b'") and check rows whose
  name ends in a password name.
A password name ends in password/passwd/pwd, or is a camel-case ...Pass;
names such as PasswordJavaRegEx or passwordHashMethod are settings, not secrets.

Every function takes text in its raw form or HTML-escaped (&lt;password&gt;),
and leaves text already masked as it is, so applying it twice is harmless.
"""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path

from .valuemask import MASKED, ValueSet, fingerprint, mask_value, mask_values

# Passwords as WSO2 ships them, which are also user names, aliases and words in
# the same files: masked at their locations, never by value everywhere.
SHIPPED_VALUES = {"wso2carbon", "admin", "password", "root", "sa", "tiger", "postgres", "mailpassword",
                  "A1b2c3d4", "secret", "123"}


_SEEN = ValueSet()  # secret values found at a location in this process


def _seen(value: str) -> str:
    """Mask a value found at a secret location, and remember it (when it is not a
    short or published word that also names other things) so it is masked
    wherever else it appears in this process's output."""
    if len(value) >= 8 and value not in SHIPPED_VALUES and not MASKED.fullmatch(value):
        _SEEN.add(value)
    return mask_value(value)


# --- names ----------------------------------------------------------------------------------

NOT_SECRET = {"storesaltedpassword"}  # user-mgt.xml: a boolean setting whose name ends in Password


_ENDS_PASSWORD = re.compile(r"(password|passwd|pwd)$")
_ENDS_PASS = re.compile(r"(^|[._-])pass$")
_CAMEL_PASS = re.compile(r"[a-z0-9]Pass$")


@functools.lru_cache(maxsize=8192)
def is_secret_name(name: str) -> bool:
    """True for a name that holds a password (element, attribute, property key).
    Kept per name: a page of HTML asks it of every element (td, span...) again and again."""
    local = name.rsplit(":", 1)[-1].rsplit("}", 1)[-1]
    low = local.lower()
    if low in NOT_SECRET:
        return False
    return bool(_ENDS_PASSWORD.search(low) or _ENDS_PASS.search(low) or _CAMEL_PASS.search(local))


def names_secret(what: str) -> bool:
    """A check row is about a secret when its name ends with a password's name
    as the file writes it ("manager: carbon.xml DeploymentSynchronizer SvnPassword",
    "... @keystorePass", "... log4j.appender.LOGEVENT.password"); prose that
    ends in the plain word ("sudo without a password") is not."""
    words = re.findall(r"[\w.:@/\-]+", what)
    last = words[-1] if words else ""
    return is_secret_name(last.lstrip("@/")) and (last != last.lower() or any(c in last for c in "._:@/"))


# --- rules ----------------------------------------------------------------------------------

_LT, _GT = r"(?:<|&lt;)", r"(?:>|&gt;)"
_Q = r"(?:\\\"|\"|'|&quot;|&#34;|&#x27;|&#39;)"  # \" too: text inside JSON (the run record)
_ELEMENT = re.compile(
    _LT + r"(?P<tag>[\w.\-]+(?::[\w.\-]+)?)(?P<attrs>(?:\s(?:(?!" + _GT + r")[^<])*?)?)(?<!/)" + _GT
    + r"(?P<value>(?:(?!" + _LT + r")[^<])*)" + _LT + r"/(?P=tag)\s*" + _GT)
_NAME_ATTR = re.compile(r"\bname\s*=\s*(?P<q>" + _Q + r")(?P<name>.*?)(?P=q)")
_ATTR = re.compile(r"(?<![\w.:\-])(?P<pre>(?P<name>[\w.\-]+(?::[\w.\-]+)?)\s*=\s*(?P<q>" + _Q + r"))(?P<value>.*?)(?P=q)")
_LINE = re.compile(r"(?m)^(?P<pre>[-+ ]?[ \t]*#?[ \t]*(?P<key>[\w.\-]+)[ \t]*[=:][ \t]*)(?P<value>[^\r\n]*?)"
                   r"(?P<post>[ \t]*\r?)$")
_URL_OPTION = re.compile(r"(?i)(?P<pre>[?&;](?:amp;)?(?:password|passwd|pwd)=)(?P<value>[^&;\s<>\"']*)")
_CLI = re.compile(r"(?P<pre>--password[= ])(?P<value>(?!-)\S+)")
_SQL = re.compile(r"(?i)(?P<pre>IDENTIFIED\s+(?:BY(?:\s+PASSWORD)?|VIA\s+\S+\s+USING|WITH\s+\S+\s+(?:BY|AS))\s+')"
                  r"(?P<value>(?:[^'\\]|\\.|'')*)'")
_REPR = r"(?:'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")"
_NOTE = re.compile(r"(?<![\w.\-:])(?P<label>[\w.\-:]+)(?:\[[^\]\n]*\])*(?: @(?P<attr>[\w.\-:]+))?: "
                   r"(?P<verb>already |added |appended |uncommented line \d+ and set )?(?P<a>" + _REPR + r")"
                   r"(?: -> (?P<b>" + _REPR + r"))?")


def _plain(value: str) -> str:
    """The value as the program uses it (XML and HTML entities undone), for a stable fingerprint."""
    prev = None
    while prev != value and "&" in value:
        prev, value = value, html.unescape(value)
    return value


def _keep_space(value: str, masked: str) -> str:
    """Mask VALUE but keep its surrounding whitespace (pretty-printed XML)."""
    core = value.strip()
    if not core:
        return value
    start = value.index(core)
    return value[:start] + masked + value[start + len(core):]


def _element(m: re.Match) -> str:
    tag, attrs, value = m["tag"], m["attrs"] or "", m["value"]
    named = _NAME_ATTR.search(attrs) if "name" in attrs else None
    if is_secret_name(tag) or (named and is_secret_name(_plain(named["name"]))):
        start, end = m.span("value")
        base = m.start()
        whole = m.group(0)
        return whole[:start - base] + _keep_space(value, _seen(_plain(value.strip()))) + whole[end - base:]
    return m.group(0)


def _attr(m: re.Match) -> str:
    if not is_secret_name(m["name"]):
        return m.group(0)
    return m["pre"] + _seen(_plain(m["value"])) + m.group("q")


def _line(m: re.Match, every_key: bool = False) -> str:
    if not (every_key or is_secret_name(m["key"])) or not m["value"] or re.match(_Q, m["value"]):
        return m.group(0)
    return m["pre"] + _seen(m["value"]) + m["post"]


def _repr_value(quoted: str) -> str:
    q = quoted[0]
    return q + _seen(quoted[1:-1]) + q


def _note(m: re.Match) -> str:
    name = m["attr"] or m["label"].rsplit("/", 1)[-1]
    if not is_secret_name(name):
        return m.group(0)
    out = m.group(0)
    for g in ("b", "a"):  # from the end, so the first span stays valid
        if m[g]:
            s, e = m.start(g) - m.start(), m.end(g) - m.start()
            out = out[:s] + _repr_value(m[g]) + out[e:]
    return out


def _simple(m: re.Match) -> str:
    return m["pre"] + _seen(_plain(m["value"])) + m.group(0)[m.end("value") - m.start():]


# A PEM private key (openssl's key files, 02's TLS keys), whole or as diff lines: its body
# goes, its BEGIN/END lines stay (so a diff still says a key was added or removed).
_PEM_KEY = re.compile(r"(?m)^(?P<begin>(?P<pre>[ \t]*[-+ ]?)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[ \t]*\r?\n)"
                      r"(?P<body>(?:(?![ \t]*[-+ ]?-----END ).*\n)*?)"
                      r"(?P<end>[ \t]*[-+ ]?-----END [A-Z0-9 ]*PRIVATE KEY-----)")


def _pem_key(m: re.Match) -> str:
    body = m["body"]
    lines = body.count("\n")
    return f"{m['begin']}{m['pre']}***(private key, {lines} lines, {fingerprint(body)})\n{m['end']}"


def redact_text(text: str) -> str:
    """Mask every secret that TEXT holds at a known location (any kind of text:
    a file, a diff, a message, HTML)."""
    if not text:
        return text
    if "PRIVATE KEY-----" in text:
        text = _PEM_KEY.sub(_pem_key, text)
    folded = text.casefold()  # one copy, searched with `in`: 10x faster than a (?i) pattern
    if "pass" in folded or "pwd" in folded:  # every rule but SQL's needs a password's name (is_secret_name)
        text = _ELEMENT.sub(_element, text)
        text = _ATTR.sub(_attr, text)
        text = _LINE.sub(_line, text)
        text = _URL_OPTION.sub(_simple, text)
        text = _CLI.sub(_simple, text)
        if _NOTE_HINT.search(text):
            text = _NOTE.sub(_note, text)
    if "identified" in folded:
        text = _SQL.sub(_simple, text)
    return mask_values(text, _SEEN)


# What the rules above need before they can match (the regular expressions try every
# position of a text; most texts, e.g. a page of check tables, hold no password's name):
# a name is_secret_name accepts contains "pass" or "pwd" (in any case: searched in the
# text's casefold, which case-insensitive patterns match no more than); SQL's rule
# needs IDENTIFIED; a note has ": " then a quote.
_NOTE_HINT = re.compile(r": (?:already |added |appended |uncommented line \d+ and set )?['\"]")


CIPHER_TEXT = "cipher-text.properties"  # secure vault: every value is an encrypted secret


def redact_file(text: str, name: str = "") -> str:
    """A file's text with its secrets masked; NAME (its path) picks file-wide
    rules, e.g. every value of cipher-text.properties. Remembered while no secret
    value is added: the same shipped file is read on every node (axis2.xml:
    7 ms of regular expressions a copy, on each of 128 hosts)."""
    return _redacted_file(text, name, _SEEN.version)


@functools.lru_cache(maxsize=64)
def _redacted_file(text: str, name: str, _seen: int) -> str:
    if name.endswith(CIPHER_TEXT):
        text = _LINE.sub(lambda m: _line(m, every_key=True), text)
    return redact_text(text)


def check_values(what: str, expected: str, found: str) -> tuple[str, str]:
    """A check row's expected and found, masked whole when the check is about a
    secret; otherwise masked at their known locations."""
    if names_secret(what):
        return mask_value(expected) if expected not in ("(none)", "(absent)") else expected, \
            mask_value(found) if found not in ("(none)", "(absent)") else found
    return redact_text(expected), redact_text(found)



REDACTED = "runbook_redacted"  # notebook metadata: every output went through redact_notebook


def redact_notebook(path: str | Path, mask=None) -> None:  # noqa: ANN001 - mask: str -> str
    """Mask every output of an executed notebook in place (tracebacks included):
    what a kernel printed outside the runbook's display objects. MASK (default
    redact_text) may also mask by value, e.g. the params' secrets."""
    import nbformat
    path = Path(path)
    nb = nbformat.read(path, as_version=4)

    def fix(x):  # noqa: ANN001, ANN202
        if isinstance(x, str):
            return (mask or redact_text)(x)
        if isinstance(x, list):
            return [fix(i) for i in x]
        if isinstance(x, dict):
            return {k: fix(v) for k, v in x.items()}
        return x

    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = nbformat.from_dict(fix(cell.outputs))
    nb.metadata[REDACTED] = True
    tmp = path.with_suffix(".redact.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)
