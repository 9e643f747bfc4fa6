"""Read a params file's YAML so that nothing in it can change meaning silently.

PyYAML implements YAML 1.1, whose implicit typing differs from what an
operator (and YAML 1.2) expects: ``010`` is the octal number 8, ``22:22`` is
the base-60 number 1342, ``no``/``off``/``yes``/``on`` are booleans (so a host
named ``no`` becomes the key ``False``), ``1_000`` is 1000 and ``2024-01-01``
is a date. The runbook refuses every such plain (unquoted) scalar and says
how YAML would have read it and how to write what was meant; a quoted scalar
is always text. Plain decimal numbers, ``true``/``false`` and ``null`` keep
their meaning, which is the same in YAML 1.1 and 1.2.

The file is also bounded before it is parsed: its size, its nesting depth and
its number of aliases (so neither a huge file, a deeply nested one, which
would exhaust PyYAML's recursive composer, nor an alias bomb can stop the
loader), and it must be a regular UTF-8 file.

The file is parsed and composed once, by libyaml when PyYAML has it (a
128-worker params file: about 20 ms instead of 200 ms, and every notebook reads it);
the loader constructs its values from that same node tree. Anything libyaml
refuses is parsed again by PyYAML's own parser, whose message (and line) the
runbook has always reported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import ParamsError, Problem

MAX_BYTES = 256 * 1024  # the largest example is ~3 KiB
MAX_DEPTH = 20  # the deepest params field is 5 levels down
MAX_ALIASES = 100

INT_TAG, FLOAT_TAG, BOOL_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"
NULL_TAG, STR_TAG, TIME_TAG = "tag:yaml.org,2002:null", "tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"
# YAML 1.2 core schema forms that mean the same in 1.1: these are left alone.
SAFE_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
SAFE_FLOAT = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")
SAFE_BOOL = {"true", "false", "True", "False", "TRUE", "FALSE"}
SAFE_NULL = {"", "~", "null", "Null", "NULL"}
FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser, else PyYAML's


def _fail(file: str, where: str, message: str, fix: str) -> ParamsError:
    return ParamsError([Problem(file, where, message, fix)], file)


def read_text(path: Path, file: str) -> str:
    """The file's text, refusing what is not a small regular UTF-8 file."""
    try:
        if not path.is_file():
            if not path.exists():
                raise _fail(file, "(file)", "no such file", "give the path of a params YAML file")
            raise _fail(file, "(file)", "not a regular file", "give the path of a params YAML file")
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise _fail(file, "(file)", f"cannot be read ({e.strerror or e})", "give a readable UTF-8 YAML file") from None
    if len(data) > MAX_BYTES:
        raise _fail(file, "(file)", f"larger than {MAX_BYTES // 1024} KiB (a params file is a few KiB)",
                    "give the params YAML file itself, not another file")
    try:
        text = data.decode("utf-8")
        yaml.reader.Reader(text)  # refuses control characters YAML does not allow
    except UnicodeDecodeError as e:
        raise _fail(file, "(file)", f"not UTF-8 text (byte {e.start})", "save the file as UTF-8") from None
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        raise _fail(file, f"line {line}", f"character #x{e.character:04x} is not allowed in YAML",
                    "remove it (a params file is plain text)") from None
    return text


def _bounds(text: str, file: str, loader: type = FAST) -> None:
    """Walk the parser's events (iterative, no recursion) before composing.
    What libyaml refuses is walked again by PyYAML's parser, which yields the
    events up to its error (libyaml may look ahead and refuse a deep nest
    before yielding its first event), so a too-deep file is named as such."""
    depth = aliases = 0
    try:
        for ev in yaml.parse(text, Loader=loader):
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _fail(file, f"line {ev.start_mark.line + 1}",
                                f"nested more than {MAX_DEPTH} levels deep (a params file needs 5)",
                                "remove the extra nesting; see params/lab.yaml for the structure")
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(ev, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise _fail(file, f"line {ev.start_mark.line + 1}", f"more than {MAX_ALIASES} aliases (*name)",
                                "write the values out instead of repeating anchors")
    except yaml.YAMLError:
        if loader is not yaml.SafeLoader:
            _bounds(text, file, yaml.SafeLoader)
        return  # the loader reports syntax errors with their line
    except RecursionError:  # pragma: no cover - the parser is iterative; belt and braces
        raise _fail(file, "(file)", "nested too deeply", "remove the extra nesting") from None


def _meaning(node: yaml.ScalarNode) -> tuple[str, str] | None:
    """(how YAML 1.1 reads this plain scalar, how to write what was meant)
    when that differs from what YAML 1.2 or a reader would expect."""
    v, tag = node.value, node.tag
    quoted = f'"{v}"'
    if tag == INT_TAG and not SAFE_INT.match(v):
        if ":" in v:
            how = "a base-60 (sexagesimal) number"
        elif re.match(r"^[-+]?0[0-7_]+$", v):
            how = "an octal number"
        elif "_" in v:
            how = "a number with the `_` digit separators dropped"
        else:
            how = "a binary or hexadecimal number"
        return (f"YAML 1.1 reads `{v}` as {how}", f"write a plain decimal number, or {quoted} if it is text")
    if tag == FLOAT_TAG and not SAFE_FLOAT.match(v):
        how = "a base-60 (sexagesimal) number" if ":" in v else "a special or separated float"
        return (f"YAML 1.1 reads `{v}` as {how}", f"write {quoted} if it is text, or a plain decimal number")
    if tag == BOOL_TAG and v not in SAFE_BOOL:
        word = "true" if v.lower() in ("yes", "on", "y") else "false"
        return (f"YAML 1.1 reads `{v}` as the boolean {word}",
                f"write {word} if you mean a boolean, or {quoted} if it is a name or text")
    if tag == NULL_TAG and v not in SAFE_NULL:
        return (f"YAML reads `{v}` as null", f'write {quoted} if it is text')
    if tag == TIME_TAG:
        return (f"YAML 1.1 reads `{v}` as a date", f"write {quoted}")
    return None


def _walk(node: yaml.Node, path: str, file: str, out: list[Problem], seen: set[int]) -> None:
    if id(node) in seen:  # an alias: checked where it was defined
        return
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        if not node.style:  # plain: None from PyYAML, "" from libyaml
            meaning = _meaning(node)
            if meaning:
                out.append(Problem(file, path or "(top level)", f"{meaning[0]} (line {node.start_mark.line + 1})",
                                   meaning[1]))
        return
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, f"{path}.{i}" if path else str(i), file, out, seen)
        return
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode):
            name = key.value
            if key.tag == "tag:yaml.org,2002:merge":
                _walk(value, path, file, out, seen)
                continue
            where = f"{path}.{name}" if path else name
            if not key.style and key.tag != STR_TAG:
                meaning = _meaning(key)
                kind = {"int": "a number", "float": "a number", "bool": "a boolean", "null": "null"}.get(
                    key.tag.rsplit(":", 1)[-1], key.tag.rsplit(":", 1)[-1])
                read = meaning[0] if meaning else f"YAML reads the key `{name}` as {kind}"
                out.append(Problem(file, where, f"{read}, not as the name `{name}` (line {key.start_mark.line + 1})",
                                   f'quote the key: "{name}":'))
            _walk(value, where, file, out, seen)
        else:
            out.append(Problem(file, path or "(top level)",
                               f"a list or mapping used as a key (line {key.start_mark.line + 1})",
                               "keys are names: write `name: value`"))


def read_strict(path: Path, file: str) -> tuple[str, Any]:
    """(the file's text, its composed root node or None), once it is known that
    loading it is bounded and that every plain scalar means what it says; raises
    ParamsError otherwise. The node is None when the text is empty or is not
    valid YAML (the loader then parses the text and reports where)."""
    text = read_text(path, file)
    _bounds(text, file)
    try:
        root = yaml.compose(text, Loader=FAST)
    except (yaml.YAMLError, RecursionError):
        return text, None
    if root is None:
        return text, None
    problems: list[Problem] = []
    _walk(root, "", file, problems, set())
    if problems:
        raise ParamsError(problems, file)
    return text, root
