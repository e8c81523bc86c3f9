"""`render()`: a Markdown body -> `Rendered`, the markup stage's one entry point.

The steps: scan the source (positions), refuse what cannot render (limits), lint, convert with
Python-Markdown (extensions; the speed-up's instance when it applies), sanitise, and read the
sanitised HTML once (text). Any failure inside Python-Markdown discards the thread's instances,
so nothing of it reaches the next render.
"""

from __future__ import annotations

import threading

from ..model import ERROR, WARNING, Diagnostic, Question, Rendered
from . import limits, lints, positions, speedup
from .extensions import Parser
from .sanitise import clean
from .text import walk


class MarkupError(Exception):
    """A body that could not be rendered; `diagnostic` names its file and line."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.format())
        self.diagnostic = diagnostic


def render(body: str, *, path: str, body_line: int) -> Rendered:
    """Render a Markdown body to sanitised HTML and the facts later stages need. Pure.

    Raises MarkupError, naming the file and line, for a body that cannot be rendered.
    """
    src = positions.scan(body)
    _depth, index, too_deep = positions.nesting(src, limits.MAX_NESTING)
    if too_deep is not None:
        raise _failure(
            path,
            body_line + too_deep,
            f"lists or quotes nested more than {limits.MAX_NESTING} levels deep from this line "
            "on; Python-Markdown cannot render that",
            "nest less deeply: split the list, or use headings",
            "too-deep",
        )
    try:
        with limits.Deadline(limits.RENDER_SECONDS):
            return _render(body, src, path, body_line)
    except limits.Overtime:
        _discard()
        raise _failure(
            path,
            body_line,
            f"rendering this body took longer than {limits.RENDER_SECONDS:g} seconds and was "
            "stopped",
            "look for long runs of unclosed brackets '[' or '<'; split a very long article",
            "render-time",
        ) from None
    except RecursionError:
        _discard()
        raise _failure(
            path,
            body_line + index,
            "this body is nested too deeply to render (the deepest line is here)",
            "nest lists, quotes and emphasis less deeply",
            "too-deep",
        ) from None
    except Exception as exc:
        _discard()
        raise _failure(
            path,
            body_line,
            f"Python-Markdown failed on this body: {type(exc).__name__}: {exc}",
            "this is a bug in Haven or Python-Markdown; simplify the body to find the part "
            "that causes it",
            "markup-internal",
        ) from None
    except BaseException:
        _discard()  # interrupted half-way: the instance's state cannot be trusted
        raise


def _failure(path: str, line: int, message: str, hint: str, code: str) -> MarkupError:
    return MarkupError(Diagnostic(ERROR, path, line, None, message, hint=hint, code=code))


# Each thread keeps its own parsers (the dev server renders in its build thread, a build in its
# process and its forked workers): a `Markdown` instance holds the state of the conversion it is
# in. Keyed by the speed-up's choice for the body (None: plain Python-Markdown).
_LOCAL = threading.local()
# A parser costs about 0.2 ms to make and 20 KB to keep.
MAX_PARSERS = 64


def _parser(body: str) -> Parser:
    parsers = getattr(_LOCAL, "parsers", None)
    if parsers is None:
        parsers = _LOCAL.parsers = {}
    key = speedup.choose(body)
    parser = parsers.pop(key, None)  # put back last: the least recently used goes first
    if parser is None:
        if len(parsers) >= MAX_PARSERS:
            del parsers[next(iter(parsers))]
        parser = Parser() if key is None else speedup.parser(key)
    parsers[key] = parser
    return parser


def _discard() -> None:
    """Forget this thread's parsers: a failed render may have left state in one."""
    _LOCAL.parsers = {}


def _render(body: str, src: positions.Source, path: str, body_line: int) -> Rendered:
    parser = _parser(body)
    links = positions.links(src, body_line)
    citations = positions.citations(src, body_line)

    diagnostics = lints.raw_html_lint(src, path, body_line, links)
    diagnostics += lints.citation_lint(src, path, body_line)
    diagnostics += lints.structure_errors(src, path, body_line, parser.md.block_level_elements)

    numbers = {citation.key: citation.number for citation in citations}
    walked = walk(clean(parser.convert(body, numbers)))

    questions = []
    qlines = positions.question_lines(src) if walked.answers else []
    if len(qlines) != len(walked.answers):
        qlines = [None] * len(walked.answers)
    for (qid, qtext, answer_html, answer_text), qline in zip(walked.answers, qlines, strict=True):
        questions.append(Question(qid, qtext, answer_html, answer_text))
        if not answer_html:
            line = body_line + qline if qline is not None else body_line
            diagnostics.append(
                Diagnostic(
                    WARNING,
                    path,
                    line,
                    None,
                    f"question '{qtext}' has no answer",
                    hint="write the answer below the ### question, or remove the question",
                    code="empty-answer",
                    source_line=src.text_of_line(qline) if qline is not None else None,
                )
            )
    diagnostics.sort(key=lambda d: (d.line or 0, d.col or 0))
    return Rendered(
        html=walked.html,
        headings=tuple(walked.headings),
        words=walked.words,
        links=tuple(link for _pos, link in links),
        citations=tuple(citations),
        questions=tuple(questions),
        text=walked.text,
        diagnostics=tuple(diagnostics),
    )
