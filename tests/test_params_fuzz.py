"""`runbook validate` never prints a traceback, for any file: a seeded fuzz of
mutated example params and random YAML documents, bounded in count (so the
test takes the same time on every run and a failure replays exactly).

Every input either validates or is refused with problems that each name the
file, a field and a fix. No lab needed."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import yaml

from runbook_lib.core.errors import ParamsError
from runbook_lib.params import validate_file

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "params").glob("*.yaml"))
SEED = 20261129
MUTANTS = 400
RANDOM_DOCS = 150

# Values chosen from what YAML 1.1 and the products treat specially.
TOKENS = ["010", "0o17", "22:22", "1:20.5", "no", "off", "yes", "On", "~", "null", ".inf", "-.nan", "-1", "0",
          "99999999999999999999", "1_000", "0x1F", "0b101", "2001-02-30", "2024-01-01 10:00:00", "[1]", "{}",
          "{a: [b, {c: d}]}", '""', "''", "!!python/object:os.system", "!!binary aGk=", "&a x", "*a", "*undefined",
          "<<: *a", "? [a]", "- -", "|", ">-", "\t", "\x00", "\ufeff", "é", "$(reboot)", "../../etc/passwd",
          "/opt//x/./y", "0.0.0.0", "255.255.255.255", "224.0.0.1", "127.0.0.1", "198.51.100.0", "localhost",
          "a" * 300, "-" * 3, "...", "%YAML 1.1", "!!int 3", "!!str", "{secret: X}", "{secret: hunter2}", "1e999",
          "3232235777", "true", "[", "]", "{", "}", ":", "#", "'", '"', "@", "`"]


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        if not lines:
            lines = [rng.choice(TOKENS) + "\n"]
        i = rng.randrange(len(lines))
        op = rng.randrange(7)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 2 and ":" in lines[i]:  # replace a value
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {rng.choice(TOKENS)}\n"
        elif op == 3:  # replace a word anywhere in the line
            words = lines[i].split(" ")
            words[rng.randrange(len(words))] = rng.choice(TOKENS)
            lines[i] = " ".join(words)
        elif op == 4:  # re-indent
            lines[i] = " " * rng.choice([0, 1, 2, 3, 4, 8]) + lines[i].lstrip(" ")
        elif op == 5:  # flip one character
            s = lines[i]
            if s:
                j = rng.randrange(len(s))
                lines[i] = s[:j] + rng.choice(":-[]{},&*!|>'\"#% \t0aZ") + s[j + 1:]
        else:
            lines.insert(i, " " * rng.choice([0, 2, 4]) + f"{rng.choice(TOKENS)}: {rng.choice(TOKENS)}\n")
    return "".join(lines)


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(8 if depth < 6 else 5)
    if kind == 0:
        return rng.randint(-2**40, 2**40)
    if kind == 1:
        return rng.choice(TOKENS)
    if kind == 2:
        return rng.choice([None, True, False, 1.5, "", "198.51.100.10", "/opt/wso2/x"])
    if kind == 3:
        return "".join(rng.choice("abc:-/ .{}[]&*!\n") for _ in range(rng.randint(0, 12)))
    if kind == 4:
        return rng.choice(["name", "hosts", "nodes", "product", "ssh", "cluster", "load_balancer", "database"])
    if kind in (5, 6):
        keys = ["name", "product", "ssh", "hosts", "nodes", "cluster", "load_balancer", "database", "lab",
                "address", "roles", "home", "offset", "local_member_port", "secret", "key", "known_hosts"]
        return {rng.choice(keys + TOKENS[:20]): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def _inputs(tmp_path: Path) -> list[Path]:
    rng = random.Random(SEED)
    texts = [path.read_text() for path in EXAMPLES]
    paths = []
    for i in range(MUTANTS):
        paths.append(tmp_path / f"mutant-{i:03}.yaml")
        paths[-1].write_text(_mutate(rng.choice(texts), rng), encoding="utf-8", errors="surrogatepass")
    for i in range(RANDOM_DOCS):
        paths.append(tmp_path / f"random-{i:03}.yaml")
        doc = _random_value(rng, 0 if i % 2 else 5)
        paths[-1].write_text(yaml.safe_dump(doc, default_flow_style=rng.random() < 0.5, allow_unicode=True))
    for i, raw in enumerate([b"\xff\xfe\x00", b"a: b\n" * 70000, b"", b"\x00" * 10, b"[" * 100000]):
        paths.append(tmp_path / f"raw-{i}.yaml")
        paths[-1].write_bytes(raw)
    return paths


def test_validate_never_raises_on_fuzzed_input(tmp_path):
    inputs = _inputs(tmp_path)
    refused = valid = 0
    for path in inputs:
        try:
            errors, _ = validate_file(path)
        except ParamsError:  # validate_file itself must not raise at all
            raise AssertionError(f"{path.name} raised ParamsError from validate_file")
        except Exception as e:  # noqa: BLE001 - the point of the test
            raise AssertionError(f"{path.name}: {type(e).__name__}: {e}\n---\n{path.read_text(errors='replace')[:2000]}")
        if errors:
            refused += 1
            for e in errors:
                assert e.file == str(path) and e.field and e.fix, repr(e)
        else:
            valid += 1
    print(f"fuzz: {len(inputs)} inputs, {refused} refused, {valid} valid")
    assert refused > len(inputs) // 2


def test_cli_prints_no_traceback_on_fuzzed_input(tmp_path):
    inputs = _inputs(tmp_path)[::5]
    exe = Path(sys.executable).parent / "runbook"
    r = subprocess.run([str(exe), "validate", *map(str, inputs)], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout, r.stderr[-3000:]
    for path in inputs:
        assert f"{path}: valid" in r.stdout or f"error: {path}: " in r.stderr, path.name
