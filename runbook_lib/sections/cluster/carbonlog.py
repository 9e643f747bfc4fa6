"""Reading a Carbon node's log (repository/logs/wso2carbon.log) as the
cluster test needs it: the lines since the node's latest start, whether it
started or failed, and who it sees as cluster members (Hazelcast and Tribes
lines as CARBON-RUNTIME.md quotes them). Pure functions on text."""

from __future__ import annotations

import re

STARTING = "Starting WSO2 Carbon..."
STARTED = "WSO2 Carbon started in"
HZ_JOIN = re.compile(r"Member joined \[[^\]]*\]: /([\d.]+):(\d+)")
HZ_LEFT = re.compile(r"Member left \[[^\]]*\]: /([\d.]+):(\d+)")
HZ_JOIN_UUID = re.compile(r"Member (joined|left) \[([^\]]*)\]: /")
HZ_LOCAL = re.compile(r"Local member: \[([^\]]+)\]")
TR_JOIN = re.compile(r"New member ([\d.]+):(\d+)\([^)]*\) joined cluster")
TR_LEFT = re.compile(r"Member ([\d.]+):(\d+)\([^)]*\) left cluster")
ELB_JOIN = re.compile(r"Application member Host:([\d.]+), Remote Host:\S+ Port: (\d+),.* joined application cluster")
ELB_LEFT = re.compile(r"Application member Host:([\d.]+), Remote Host:\S+ Port: (\d+),.* left application cluster")


def latest_run(text: str) -> str:
    """The log from the latest `Starting WSO2 Carbon...` on."""
    i = text.rfind(STARTING)
    if i < 0:
        return ""
    return text[text.rfind("\n", 0, i) + 1:]


def started_line(seg: str) -> str | None:
    return next((ln for ln in seg.splitlines() if STARTED in ln), None)


TRACE_SEP = " || "


def error_lines(seg: str) -> list[str]:
    """ERROR and FATAL lines, each with the first line of the stack trace log4j
    writes under it (tomcat-jdbc's pool error names the cause only there), after TRACE_SEP."""
    lines = seg.splitlines()
    out = []
    for i, ln in enumerate(lines):
        if re.search(r"\]\s+(?:ERROR|FATAL) \{", ln):
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            out.append(ln + (TRACE_SEP + nxt.strip() if nxt and not nxt.startswith("TID: ") else ""))
    return out


def startup_errors(seg: str) -> list[str]:
    """ERROR lines of the start-up itself: those before `WSO2 Carbon started`
    (later ones, such as the ELB's "No application members available", come
    from serving and do not mean the node failed to start)."""
    lines = seg.splitlines()
    end = next((i for i, ln in enumerate(lines) if STARTED in ln), len(lines))
    return error_lines("\n".join(lines[:end]))


def message(line: str) -> str:
    """A log line's message, without time stamp and logger."""
    line, _, trace = line.partition(TRACE_SEP)
    m = re.search(r"\} -  (.*?)(?: \{[\w.$]+\})?\s*$", line)
    return (m.group(1) if m else line.strip()) + (f" ({trace})" if trace else "")


def members(seg: str, elb: bool = False) -> list[str]:
    """"ip:port" of every member this node currently sees, replaying joins and leaves in order."""
    seen: dict[str, None] = {}
    pats = [(ELB_JOIN, True), (ELB_LEFT, False)] if elb else [(HZ_JOIN, True), (HZ_LEFT, False),
                                                               (TR_JOIN, True), (TR_LEFT, False)]
    for ln in seg.splitlines():
        for pat, joined in pats:
            m = pat.search(ln)
            if m:
                key = f"{m.group(1)}:{m.group(2)}"
                if joined:
                    seen[key] = None
                else:
                    seen.pop(key, None)
                break
    return list(seen)


def local_uuid(seg: str) -> str | None:
    """The node's own Hazelcast uuid in this run (`Local member: [<uuid>] - ...`)."""
    m = HZ_LOCAL.search(seg)
    return m.group(1) if m else None


def member_uuids(seg: str) -> set[str]:
    """The Hazelcast uuids this run logged as joined and not left since."""
    seen: set[str] = set()
    for m in HZ_JOIN_UUID.finditer(seg):
        (seen.add if m.group(1) == "joined" else seen.discard)(m.group(2))
    return seen


def left_uuids(seg: str) -> set[str]:
    return {m.group(2) for m in HZ_JOIN_UUID.finditer(seg) if m.group(1) == "left"}


def shut_down(seg: str) -> bool:
    """The run logged Carbon's shutdown (on TERM: `Shutdown hook triggered....`)."""
    return "Shutdown hook triggered" in seg or "Gracefully shutting down WSO2 Carbon" in seg


def count(seg: str, needle: str) -> int:
    return sum(1 for ln in seg.splitlines() if needle in ln)


def first(seg: str, needle: str) -> str | None:
    return next((ln for ln in seg.splitlines() if needle in ln), None)
