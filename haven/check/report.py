"""Render `Problem` lists for people (text) and machines (JSON, JUnit XML). Pure functions."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence

from ..model import ERROR, WARNING, Problem

_COLORS = {ERROR: "\033[31m", WARNING: "\033[33m"}
_BOLD = "\033[1m"
_RESET = "\033[0m"
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
NO_SOURCE = "(pages without a source file: templates, generated or static files)"


def failed(problems: Iterable[Problem], *, strict: bool = False) -> bool:
    """True when the check should fail: any error, or any warning under --strict."""
    failing = {ERROR, WARNING} if strict else {ERROR}
    return any(p.severity in failing for p in problems)


def summary_line(problems: Sequence[Problem]) -> str:
    """`2 errors (1 broken-link, 1 missing-fragment), 1 warning (1 orphan)` or `no problems`."""
    if not problems:
        return "no problems found"
    parts = []
    for severity in (ERROR, WARNING):
        kinds = Counter(p.kind for p in problems if p.severity == severity)
        total = sum(kinds.values())
        if total:
            detail = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            parts.append(f"{total} {severity}{'' if total == 1 else 's'} ({detail})")
    return ", ".join(parts) or f"{len(problems)} notes"


def format_problem(p: Problem, *, color: bool = False) -> str:
    """One line, compiler style: `content/x.md:12: error: message [kind] (in page)`."""
    location = p.source or p.page or "site"
    if p.source and p.line:
        location += f":{p.line}"
    severity = p.severity
    if color and severity in _COLORS:
        severity = f"{_COLORS[severity]}{severity}{_RESET}"
    text = f"{location}: {severity}: {p.message} [{p.kind}]"
    if p.source and p.page:
        text += f" (in {p.page})"
    return text


def format_text(problems: Sequence[Problem], *, color: bool = False) -> str:
    """Problems grouped by the source file to edit, then a summary line."""
    groups: dict[str, list[Problem]] = {}
    for p in problems:
        groups.setdefault(p.source or NO_SOURCE, []).append(p)
    lines = []
    for name in sorted(groups, key=lambda g: (g == NO_SOURCE, g)):
        lines.append(f"{_BOLD}{name}{_RESET}" if color else name)
        lines.extend("  " + format_problem(p, color=color) for p in groups[name])
        lines.append("")
    lines.append(summary_line(problems))
    return "\n".join(lines) + "\n"


def format_json(problems: Sequence[Problem]) -> str:
    """One JSON object: `problems` (see Problem.as_dict) and counts per severity."""
    counts = Counter(p.severity for p in problems)
    payload = {
        "problems": [p.as_dict() for p in problems],
        "errors": counts.get(ERROR, 0),
        "warnings": counts.get(WARNING, 0),
        "summary": summary_line(problems),
    }
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def format_junit(problems: Sequence[Problem], *, strict: bool = False) -> str:
    """JUnit XML: a test case per problem (errors fail; warnings fail only when `strict`)."""
    failing = {ERROR, WARNING} if strict else {ERROR}
    failures = sum(1 for p in problems if p.severity in failing)
    suites = ET.Element("testsuites", name="haven check")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="haven.linkcheck",
        tests=str(max(1, len(problems))),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    if not problems:
        ET.SubElement(suite, "testcase", classname="haven.check", name="no problems found")
    for p in problems:
        where = p.source or p.page or "site"
        if p.source and p.line:
            where += f":{p.line}"
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_xml(p.source or p.page or "site"),
            name=_xml(f"{p.kind}: {p.target or where}"),
        )
        if p.source or p.line is not None:
            case.set("file", _xml(p.source or p.page))
            if p.line:
                case.set("line", str(p.line))
        detail = f"{where}: {p.severity}: {p.message}" + (f" (in {p.page})" if p.page else "")
        if p.severity in failing:
            failure = ET.SubElement(case, "failure", type=p.kind, message=_xml(p.message))
            failure.text = _xml(detail)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _xml(detail)
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def _xml(text: str) -> str:
    """Text XML 1.0 can carry (hrefs may hold control characters)."""
    return _XML_ILLEGAL.sub("\N{REPLACEMENT CHARACTER}", text)
