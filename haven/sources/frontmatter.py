"""Split a Markdown source into YAML front matter and body, with the source line of every key.

`split(raw, path)` never raises for bad input: every problem becomes a `Diagnostic` whose line
and column are those of the source file (the opening `---` is line 1). The YAML is read twice by
libyaml: once as events, to refuse aliases, anchors, unknown tags and deep nesting before anything
is built and to note where each key and value is; then loaded with a safe constructor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml
from yaml.constructor import ConstructorError
from yaml.resolver import Resolver

from ..model import ERROR, WARNING, Diagnostic

# The YAML reader front matter shares with site.yaml; its names are this module's too.
from ..yamlsafe import DATE_FORMATS as DATE_FORMATS
from ..yamlsafe import DATE_HINT as DATE_HINT
from ..yamlsafe import EARLIEST_YEAR as EARLIEST_YEAR
from ..yamlsafe import INVALID as INVALID
from ..yamlsafe import LATEST_YEAR as LATEST_YEAR
from ..yamlsafe import _Loader
from ..yamlsafe import date_problem as date_problem
from ..yamlsafe import load_values as load_values
from ..yamlsafe import mapping_values_hint as mapping_values_hint

MAX_FRONT_MATTER = 64 * 1024  # characters; front matter holds short fields, not text
MAX_SHOWN = 300  # characters of a source line shown under a diagnostic
MAX_DEPTH = 16  # libyaml slows down quadratically on deep nesting, and nothing needs it
_FENCES = ("---", "...")
_STR = "tag:yaml.org,2002:str"
_ALLOWED_TAGS = {
    None,
    "!",
    *(
        f"tag:yaml.org,2002:{t}"
        for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
    ),
}
_resolver = Resolver()


@dataclass(frozen=True)
class FrontMatter:
    """Parsed front matter and body of one source file. Lines and columns are 1-based."""

    data: dict  # top-level mapping; keys are str
    key_lines: dict[str, int]
    key_cols: dict[str, int]
    body: str  # BOM stripped, LF newlines
    body_line: int  # file line where the body starts
    lines: list[str]  # every line of the (decoded, LF) file, for showing the offending one
    value_pos: dict[str, tuple[int, int]] = field(default_factory=dict)  # where each value starts
    raw: dict[str, str] = field(default_factory=dict)  # source text of scalar values
    item_pos: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # items of lists
    item_raw: dict[str, list[str | None]] = field(default_factory=dict)
    emptied: dict[str, str] = field(default_factory=dict)  # key -> '#...' comment that emptied it

    def position(self, key: str, item: int | None = None) -> tuple[int | None, int | None]:
        """Best known (line, col) of a key's value, or of one item of a list value."""
        if item is not None and item < len(self.item_pos.get(key, ())):
            return self.item_pos[key][item]
        if key in self.value_pos:
            return self.value_pos[key]
        if key in self.key_lines:
            return self.key_lines[key], self.key_cols.get(key)
        return 1, None

    def source_line(self, line: int | None) -> str | None:
        return _source_line(self.lines, line)


def _source_line(lines: list[str], line: int | None) -> str | None:
    """The line to show under a diagnostic, cut short when it is very long."""
    if not line or not 0 < line <= len(lines):
        return None
    text = lines[line - 1]
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def split(raw: bytes, path: str) -> tuple[FrontMatter | None, list[Diagnostic]]:
    """Split `raw` into front matter and body; `None` when the front matter is unusable."""
    text, problem = _decode(raw, path)
    if problem:
        return None, [problem]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")

    def diag(severity, line, col, message, **kw):
        return Diagnostic(
            severity, path, line, col, message, source_line=_source_line(lines, line), **kw
        )

    if lines[0].rstrip() != "---":
        return None, [
            diag(
                ERROR,
                1,
                None,
                "front matter required: start the file with ---",
                hint=_no_fence_hint(lines),
                code="no-front-matter",
            )
        ]
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip() in _FENCES), None)
    if close is None:
        return None, [
            diag(
                ERROR,
                1,
                1,
                "the front matter that opens here is never closed",
                hint="add a line with --- after the last key",
                code="unclosed-front-matter",
            )
        ]
    yaml_text = "\n".join(lines[1:close]) + "\n"
    if len(yaml_text) > MAX_FRONT_MATTER:
        return None, [
            diag(
                ERROR,
                1,
                1,
                f"front matter is longer than {MAX_FRONT_MATTER // 1024} KiB",
                hint="front matter holds short fields; move long text into the body",
                code="front-matter-too-large",
            )
        ]
    body = "\n".join(lines[close + 1 :])
    scan = _Scan(lines, diag)
    if not scan.run(yaml_text):
        return None, scan.diags
    data, ok = _construct(yaml_text, scan, diag)
    if not ok:
        return None, scan.diags
    fm = FrontMatter(
        data=data,
        key_lines=scan.key_lines,
        key_cols=scan.key_cols,
        body=body,
        body_line=close + 2,
        lines=lines,
        value_pos=scan.value_pos,
        raw=scan.raw,
        item_pos=scan.item_pos,
        item_raw=scan.item_raw,
        emptied=scan.emptied,
    )
    return fm, scan.diags


def _decode(raw: bytes, path: str) -> tuple[str, Diagnostic | None]:
    """UTF-8 text without BOM, or a diagnostic naming the byte and line that are not text."""
    nul = raw.find(b"\0")
    if nul != -1:
        line, col = _byte_position(raw, nul)
        return "", Diagnostic(
            ERROR,
            path,
            line,
            col,
            f"contains a NUL byte at byte {nul} (line {line}); is it a binary file?",
            hint="only UTF-8 text files can be .md sources",
            code="binary",
        )
    start = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        return raw[start:].decode("utf-8"), None
    except UnicodeDecodeError as e:
        byte = e.start + start
        line, col = _byte_position(raw, byte)
        return "", Diagnostic(
            ERROR,
            path,
            line,
            col,
            f"not valid UTF-8 at byte {byte} (line {line})",
            hint="re-save the file as UTF-8",
            code="not-utf8",
        )


def _byte_position(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, col) of a byte offset, counting CRLF, CR and LF as one line break each."""
    head = raw[:offset]
    line = head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1
    last = max(head.rfind(b"\n"), head.rfind(b"\r"))
    col = len(head[last + 1 :].decode("utf-8", "replace").lstrip("\ufeff")) + 1
    return line, col


def _no_fence_hint(lines: list[str]) -> str:
    first = lines[0].strip()
    if first == "+++":
        return "this is TOML front matter (+++); Haven reads YAML between lines of ---"
    for i, line in enumerate(lines[:20]):
        if line.strip() == "---" and i > 0 and not any(x.strip() for x in lines[:i]):
            return f"remove the blank lines above the --- on line {i + 1}"
    if re.match(r"[A-Za-z_][\w-]*:(\s|$)", first):
        return "add a line with --- above the first key and another after the last key"
    return "begin with a line of ---, then title:, date:, summary: and tags:, then ---"


class _Frame:
    __slots__ = ("is_map", "expect_key", "seen", "key")

    def __init__(self, is_map: bool, key: str | None = None):
        self.is_map = is_map
        self.expect_key = True
        self.seen: dict[str, int] = {}
        self.key = key  # the top-level key whose list this is


class _Scan:
    """One pass over libyaml's events: refuse what is unsafe, note where keys and values are."""

    def __init__(self, lines: list[str], diag):
        self.lines = lines
        self.diag = diag
        self.diags: list[Diagnostic] = []
        self.key_lines: dict[str, int] = {}
        self.key_cols: dict[str, int] = {}
        self.value_pos: dict[str, tuple[int, int]] = {}
        self.raw: dict[str, str] = {}
        self.item_pos: dict[str, list[tuple[int, int]]] = {}
        self.item_raw: dict[str, list[str | None]] = {}
        self.emptied: dict[str, str] = {}
        self.root_kind: str | None = None

    def error(self, mark, message, **kw) -> bool:
        self.diags.append(self.diag(ERROR, mark.line + 2, mark.column + 1, message, **kw))
        return False

    def run(self, yaml_text: str) -> bool:
        """False when the front matter cannot be loaded (the reason is in `diags`)."""
        try:
            return self._walk(yaml.parse(yaml_text, Loader=_Loader))
        except yaml.MarkedYAMLError as e:
            self._syntax_error(e)
            return False
        except yaml.reader.ReaderError as e:  # a control character: no mark, only a position
            head = yaml_text[: e.position]
            line, col = head.count("\n") + 2, e.position - (head.rfind("\n") + 1) + 1
            self.diags.append(
                self.diag(
                    ERROR,
                    line,
                    col,
                    f"contains the invisible control character U+{e.character:04X}",
                    hint="delete it, or retype the text around it",
                    code="control-character",
                )
            )
            return False

    def _walk(self, events) -> bool:
        stack: list[_Frame] = []
        top_key: str | None = None
        for ev in events:
            if isinstance(ev, yaml.AliasEvent):
                return self.error(
                    ev.start_mark,
                    f"YAML aliases (*{ev.anchor}) are not allowed in front matter",
                    key=top_key,
                    hint="write the value out in full",
                    code="yaml-alias",
                )
            if isinstance(ev, yaml.CollectionEndEvent):
                stack.pop()
                continue
            if not isinstance(ev, yaml.NodeEvent):
                continue
            if ev.anchor is not None:
                return self.error(
                    ev.start_mark,
                    f"YAML anchors (&{ev.anchor}) are not allowed in front matter",
                    key=top_key,
                    hint=f"remove '&{ev.anchor}' and write values out in full",
                    code="yaml-anchor",
                )
            if ev.tag not in _ALLOWED_TAGS:
                return self.error(
                    ev.start_mark,
                    f"the YAML tag '{_short_tag(ev.tag)}' is not allowed in front matter",
                    key=top_key,
                    hint="remove the tag; front matter holds only text, numbers, dates, true/false and lists",
                    code="yaml-tag",
                )
            parent = stack[-1] if stack else None
            is_key = False
            if parent is not None and parent.is_map:
                is_key = parent.expect_key
                parent.expect_key = not is_key
            scalar = isinstance(ev, yaml.ScalarEvent)
            if parent is None and self.root_kind is None:
                self.root_kind = (
                    "mapping"
                    if isinstance(ev, yaml.MappingStartEvent)
                    else ("list" if isinstance(ev, yaml.SequenceStartEvent) else "text")
                )
                if self.root_kind != "mapping":
                    return self.error(
                        ev.start_mark,
                        "front matter must be a mapping of key: value lines",
                        hint=f"it was read as {'a list' if self.root_kind == 'list' else 'plain text'}; "
                        "write one 'key: value' per line",
                        code="not-mapping",
                    )
            if is_key:
                if not scalar:
                    return self.error(
                        ev.start_mark,
                        "a key must be a plain name",
                        hint="write 'key: value'; '?', '[' and '{' cannot start a key",
                        code="bad-key",
                    )
                self._key(ev, parent, top_level=len(stack) == 1)
                if len(stack) == 1:
                    top_key = ev.value
            else:
                self._value(ev, stack, top_key, scalar)
            if not scalar:
                if len(stack) >= MAX_DEPTH:
                    return self.error(
                        ev.start_mark,
                        f"front matter is nested more than {MAX_DEPTH} levels deep",
                        key=top_key,
                        hint="front matter fields are text, dates or flat lists",
                        code="too-deep",
                    )
                stack.append(
                    _Frame(
                        isinstance(ev, yaml.MappingStartEvent),
                        top_key if len(stack) == 1 and not is_key else None,
                    )
                )
        return True

    def _key(self, ev, parent: _Frame, top_level: bool) -> None:
        name, line, col = ev.value, ev.start_mark.line + 2, ev.start_mark.column + 1
        if name in parent.seen:
            self.diags.append(
                self.diag(
                    WARNING,
                    line,
                    col,
                    f"'{name}' is given twice (also on line {parent.seen[name]}); this value is used",
                    key=name,
                    hint="remove one of them",
                    code="duplicate-key",
                )
            )
        parent.seen[name] = line
        if not top_level:
            return
        tag = (
            ev.tag
            if ev.tag not in (None, "!")
            else _resolver.resolve(yaml.ScalarNode, name, ev.implicit)
        )
        if tag != _STR:
            kind = tag.rsplit(":", 1)[-1]
            self.diags.append(
                self.diag(
                    ERROR,
                    line,
                    col,
                    f"the key '{name}' is read by YAML as {_KIND_NAMES.get(kind, kind)}, not a name",
                    hint="use one of the field names from `python build.py fields`",
                    code="bad-key",
                )
            )
            return
        self.key_lines[name] = line
        self.key_cols[name] = col

    def _value(self, ev, stack: list[_Frame], top_key: str | None, scalar: bool) -> None:
        pos = (ev.start_mark.line + 2, ev.start_mark.column + 1)
        if len(stack) == 1 and top_key is not None:
            self.value_pos[top_key] = pos
            if scalar:
                self.raw[top_key] = ev.value
            else:
                self.raw.pop(top_key, None)
            if isinstance(ev, yaml.SequenceStartEvent):
                self.item_pos[top_key] = []
                self.item_raw[top_key] = []
        elif len(stack) == 2 and stack[-1].key is not None and not stack[-1].is_map:
            self.item_pos[stack[-1].key].append(pos)
            self.item_raw[stack[-1].key].append(ev.value if scalar else None)
        if scalar and not ev.style and ev.tag is None:
            self._comment_check(ev, top_key, in_list=bool(stack) and not stack[-1].is_map)

    def _comment_check(self, ev, key: str | None, in_list: bool) -> None:
        """Warn when ` #` cut a plain value short or emptied it (YAML reads it as a comment)."""
        end = ev.end_mark
        line_text = self.lines[end.line + 1]
        m = re.match(r"\s+(#.*?)\s*$", line_text[end.column :])
        if not m:
            return
        comment = m.group(1)
        line, col = end.line + 2, end.column + m.start(1) + 1
        if ev.value == "":
            if key is not None and not in_list:
                self.emptied[key] = comment
            if key == "tags" and not in_list:
                fix = hashtag_fix(comment)
                msg, hint = f"tags is empty because '{comment}' is a YAML comment", f"write {fix}"
            elif in_list:
                msg = f"this list item is empty because '{comment}' is a YAML comment"
                hint = f"write - {_quoted(comment)}"
            else:
                msg = f"'{key}' is empty because '{comment}' is a YAML comment"
                hint = f"quote it: {key}: {_quoted(comment)}"
            code = "hashtag-comment"
        else:
            tag = _resolver.resolve(yaml.ScalarNode, ev.value, ev.implicit)
            if tag != _STR:
                return  # `draft: true  # for now` is a real comment
            msg = "value after '#' was treated as a comment; quote it"
            whole = line_text[ev.start_mark.column :].rstrip()
            single = ev.start_mark.line == end.line
            shown = _quoted(whole) if single else "the whole value in quotes"
            hint = (
                f"write - {shown}"
                if in_list
                else (f"write {key}: {shown}" if single else f"put {shown}")
            )
            code = "comment-truncated"
        self.diags.append(self.diag(WARNING, line, col, msg, key=key, hint=hint, code=code))

    def _syntax_error(self, e: yaml.MarkedYAMLError) -> None:
        problem = (e.problem or str(e)).strip()
        context = (e.context or "").strip()
        mark = e.problem_mark
        # An unclosed [ { or quote is reported where it ends (often past the front matter):
        # point at where it opens instead, which is the line the editor must fix.
        if e.context_mark is not None and context in (
            "while parsing a flow sequence",
            "while parsing a flow mapping",
            "while scanning a quoted scalar",
        ):
            mark = e.context_mark
        line, col = mark.line + 2, mark.column + 1
        text = self.lines[mark.line + 1] if line <= len(self.lines) else ""
        if "maximum nesting depth" in problem:
            # libyaml (from PyYAML 6.0.4) refuses deep nesting itself, while scanning ahead.
            self.diags.append(
                self.diag(
                    ERROR,
                    line,
                    1,
                    f"front matter is nested more than {MAX_DEPTH} levels deep",
                    key=_top_key_at(self.lines, mark.line + 1),
                    hint="front matter fields are text, dates or flat lists",
                    code="too-deep",
                )
            )
            return
        bad = text[mark.column : mark.column + 1]
        self.diags.append(
            self.diag(
                ERROR,
                line,
                col,
                f"invalid YAML front matter: {problem}",
                hint=_syntax_hint(problem, context, bad, text, col),
                code="yaml-syntax",
            )
        )


def _top_key_at(lines: list[str], index: int) -> str | None:
    """The top-level key whose value runs through `lines[index]` (line 0 is the fence)."""
    for text in reversed(lines[1 : index + 1]):
        match = _TOP_KEY.match(text)
        if match:
            return match.group(1)
    return None


_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:")

_KIND_NAMES = {
    "bool": "true/false",
    "int": "a number",
    "float": "a number",
    "null": "empty",
    "timestamp": "a date",
}


def _syntax_hint(problem: str, context: str, char: str, line: str, col: int = 1) -> str:
    if "tab" in problem or char == "\t":
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return mapping_values_hint(line, col)
    if "flow sequence" in context:
        return "close the list opened here with ']', or quote the value if '[' is part of it"
    if "flow mapping" in context:
        return "close the '{' opened here with '}', or quote the value if '{' is part of it"
    if "quoted scalar" in context and "unknown escape" in problem:
        return "write \\\\ for a backslash inside double quotes, or use single quotes"
    if "quoted scalar" in context:
        return "close the quotation mark opened here"
    if "cannot start any token" in problem:
        return f"quote values that start with {char!r}" if char.strip() else "quote the value"
    if "could not find expected ':'" in problem:
        return "every front-matter line is 'key: value'; if this line is body text, the closing --- is missing above it"
    if (
        "expected <block end>" in problem
        or "did not find expected key" in problem
        or "'-' indicator" in problem
    ):
        return "check the indentation: top-level keys start at the left edge, list items line up"
    if "control characters" in problem or "special characters" in problem:
        return "remove the invisible control character from this line"
    return "check the YAML on this line"


def hashtag_fix(comment: str) -> str:
    """`tags: ["#selfcare", "#sleep"]` for a `tags: #selfcare #sleep` that YAML read as a comment."""
    words = comment.split()
    items = words if all(w.startswith("#") for w in words) else [comment]
    return "tags: [" + ", ".join(f'"{w}"' for w in items) + "]"


def _short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _quoted(text: str) -> str:
    if '"' not in text and "\\" not in text:
        return f'"{text}"'
    return "'" + text.replace("'", "''") + "'"


def _construct(yaml_text: str, scan: _Scan, diag) -> tuple[dict, bool]:
    """Build the mapping; impossible dates are reported at their value and left out."""
    loader = _Loader(yaml_text)
    try:
        data = loader.get_single_data()
    except (ConstructorError, yaml.MarkedYAMLError) as e:
        mark = e.problem_mark or e.context_mark
        scan.diags.append(
            diag(
                ERROR,
                mark.line + 2 if mark else 2,
                mark.column + 1 if mark else None,
                f"invalid YAML front matter: {e.problem or e.context}",
                code="yaml-syntax",
                hint="check the YAML on this line",
            )
        )
        return {}, False
    finally:
        loader.dispose()
    for node, what, code, reason in loader.bad_values:
        line, col = node.start_mark.line + 2, node.start_mark.column + 1
        scan.diags.append(
            diag(
                ERROR,
                line,
                col,
                f"{node.value} is not a valid {what}",
                key=_key_at(scan, line),
                hint=reason or "quote it if it is meant as text",
                code=code,
            )
        )
    if data is None:
        return {}, True
    return {k: v for k, v in data.items() if isinstance(k, str)}, True


def _key_at(scan: _Scan, line: int) -> str | None:
    """The top-level key whose value covers `line`."""
    best = None
    for key, kline in scan.key_lines.items():
        if kline <= line and (best is None or kline > scan.key_lines[best]):
            best = key
    return best
