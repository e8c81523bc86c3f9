"""Text, JSON and JUnit renderings of check problems."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from haven.check.report import failed, format_json, format_junit, format_text, summary_line
from haven.model import ERROR, WARNING, Problem

BROKEN = Problem(
    ERROR,
    "broken-link",
    "articles/trust/index.html",
    "/articles/advanced-breathing/",
    "broken link 'advanced-breathing.md' (-> '/articles/advanced-breathing/'): no such page",
    "content/articles/trust.md",
    9,
)
FRAGMENT = Problem(
    ERROR,
    "missing-fragment",
    "articles/trust/index.html",
    "#nowhere",
    "link '#nowhere': this page has no id 'nowhere'",
    "content/articles/trust.md",
    11,
)
ORPHAN = Problem(
    WARNING,
    "orphan",
    "lonely/index.html",
    "",
    "no other page links to this page",
    "content/pages/lonely.md",
)
TEMPLATE = Problem(
    ERROR, "missing-asset", "index.html", "/js/x\x01.js", "missing script '/js/x\x01.js'"
)
PROBLEMS = [BROKEN, FRAGMENT, ORPHAN, TEMPLATE]


def test_text_is_grouped_by_source_file_with_a_summary():
    assert format_text(PROBLEMS) == (
        "content/articles/trust.md\n"
        "  content/articles/trust.md:9: error: broken link 'advanced-breathing.md' "
        "(-> '/articles/advanced-breathing/'): no such page [broken-link] "
        "(in articles/trust/index.html)\n"
        "  content/articles/trust.md:11: error: link '#nowhere': this page has no id 'nowhere' "
        "[missing-fragment] (in articles/trust/index.html)\n"
        "\n"
        "content/pages/lonely.md\n"
        "  content/pages/lonely.md: warning: no other page links to this page [orphan] "
        "(in lonely/index.html)\n"
        "\n"
        "(pages without a source file: templates, generated or static files)\n"
        "  index.html: error: missing script '/js/x\x01.js' [missing-asset]\n"
        "\n"
        "3 errors (1 broken-link, 1 missing-asset, 1 missing-fragment), 1 warning (1 orphan)\n"
    )


def test_text_colour_marks_severity_only_when_asked():
    plain = format_text([ORPHAN])
    coloured = format_text([ORPHAN], color=True)
    assert "\033[" not in plain
    assert "\033[33mwarning\033[0m" in coloured
    assert "\033[1mcontent/pages/lonely.md\033[0m" in coloured


def test_summary_line():
    assert summary_line([]) == "no problems found"
    assert summary_line([ORPHAN]) == "1 warning (1 orphan)"
    assert summary_line([BROKEN, BROKEN]) == "2 errors (2 broken-link)"
    assert format_text([]) == "no problems found\n"


def test_json_has_every_field_of_every_problem():
    data = json.loads(format_json(PROBLEMS))
    assert data["errors"] == 3 and data["warnings"] == 1
    assert data["problems"][0] == {
        "severity": "error",
        "kind": "broken-link",
        "source": "content/articles/trust.md",
        "line": 9,
        "page": "articles/trust/index.html",
        "target": "/articles/advanced-breathing/",
        "message": BROKEN.message,
    }
    assert data["problems"][3]["source"] is None and data["problems"][3]["line"] is None
    assert json.loads(format_json([])) == {
        "problems": [],
        "errors": 0,
        "warnings": 0,
        "summary": "no problems found",
    }


def test_junit_fails_errors_and_keeps_warnings_as_output():
    root = ET.fromstring(format_junit(PROBLEMS))
    suite = root.find("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "3"
    cases = suite.findall("testcase")
    assert [c.get("classname") for c in cases] == [
        "content/articles/trust.md",
        "content/articles/trust.md",
        "content/pages/lonely.md",
        "index.html",
    ]
    assert cases[0].get("file") == "content/articles/trust.md" and cases[0].get("line") == "9"
    failure = cases[0].find("failure")
    assert failure.get("type") == "broken-link"
    assert failure.text.startswith("content/articles/trust.md:9: error: broken link")
    assert cases[2].find("failure") is None
    assert "warning: no other page links" in cases[2].find("system-out").text
    assert "\ufffd" in cases[3].find("failure").get("message")  # control character made legal
    strict = ET.fromstring(format_junit(PROBLEMS, strict=True)).find("testsuite")
    assert strict.get("failures") == "4"


def test_junit_for_a_clean_site_has_one_passing_case():
    suite = ET.fromstring(format_junit([])).find("testsuite")
    assert suite.get("tests") == "1" and suite.get("failures") == "0"
    assert suite.find("testcase").get("name") == "no problems found"


def test_failed_depends_on_strict():
    assert failed([BROKEN])
    assert not failed([ORPHAN])
    assert failed([ORPHAN], strict=True)
    assert not failed([], strict=True)
