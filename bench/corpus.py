"""A deterministic synthetic Haven project for the benchmark: `python bench/corpus.py -n 1000 --out DIR`.

Every article is about 900 words drawn from a fixed word pool, with `##`/`###` headings, lists, a
table, footnotes, sometimes a fenced code block, a `## Questions` section, 2-5 topics from the
site's vocabulary, `[@key]` citations into a bibliography written alongside, and links to two or
three other articles at `#fragment`s those articles really have. Same arguments, same bytes: a
seeded `random.Random` and a fixed anchor date, so the figures in bench/README.md can be rebuilt.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

HAVEN = Path(__file__).resolve().parent.parent  # the repository: site.yaml, templates/, static/
# Dates are spread over the three years before this day. A fixed day, not today, so that a
# corpus made next month is the same corpus; it is in the past, so no article is "future".
ANCHOR = date(2026, 11, 1)
SPAN_DAYS = 3 * 365
TOPICS = (
    "understandingtrauma emotionregulation traumainformedcare sexualtrust healthyrelationships "
    "consent communication boundaries mentalwellness physicalwellness selfcare gettinghelp "
    "supportingothers usingthissite"
).split()
AUTHORS = ("Haven editors", "Sam Rivera", "Alex Morgan", "Jordan Lee", "Priya Shah")

# Plain, mostly short words: the text reads as nonsense but has the shape and reading level of
# the real articles. No word here can form "studies show" and the like (citation lint).
WORDS = """
about after again also always another around ask asking back balance be because before begin
being better between body books breath breathing bring busy calm can care careful change
choice choose close closeness come comfort common conversation could day days decide different
do does done each early easy enough even every everyday feel feeling feelings few find first
for friend friends from gentle give go good ground group hard have help helpful helps here
home hope how idea ideas if important in is it just keep kind know later learn less let life
light like limit limits listen little long look make many may maybe mean meaning might mind
moment more most move much need needs never new next night notice noticing now offer often
okay one open or other others our own pace part partner past people person place plan plans
quiet rather read ready really reason remember rest right room safe safety say see seem sense
settle share short should show side simple sleep slow small so some someone something space
speak start steady step still stop story support sure take talk talking tell than that the
their them then there these they thing things think this those though through time today
together too trust try turn understand until us use useful usually voice wait walk want way
ways we week well what when where which while who whole why will with word words work world
worry would write year yes yet you young your
""".split()
HEADING_WORDS = """
boundaries closeness comfort conversations feelings friendships habits listening memories
mornings needs patience plans questions rest routines safety signals sleep space steps stories
support trust voices walks words worries
""".split()
ADJECTIVES = "calm careful clear everyday gentle honest quiet simple slow small steady".split()
QUESTION_STARTS = ("What if", "How can", "Why do", "When should", "Is it okay if", "Can")
LANGUAGES = ("python", "text", "yaml")

# Ids the theme puts on every article page (haven/markup TEMPLATE_IDS): a heading slug that
# equals one of these is renamed by the renderer, so our links must never point at one.
_RESERVED_IDS = {"main", "summary", "references", "search", "top", "questions"}


@dataclass(frozen=True)
class Plan:
    """What other articles need to know about an article before its body is written."""

    index: int
    slug: str
    title: str
    sections: tuple[str, ...]  # `##` heading texts; their slugs are the fragments others link to


def heading_slug(text: str) -> str:
    """The id Python-Markdown's `slugify_unicode` gives an ASCII heading of plain words."""
    return re.sub(r"[\s-]+", "-", re.sub(r"[^\w\s-]", "", text).strip().lower())


def _sentence(rng: random.Random, low: int = 8, high: int = 16) -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _heading(rng: random.Random, taken: set[str]) -> str:
    while True:
        text = f"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(HEADING_WORDS)}"
        if rng.random() < 0.5:
            text += f" and {rng.choice(HEADING_WORDS)}"
        slug = heading_slug(text)
        if slug not in taken and slug not in _RESERVED_IDS:
            taken.add(slug)
            return text


def _plan(rng: random.Random, articles: int) -> list[Plan]:
    plans = []
    for i in range(articles):
        title = " ".join(rng.choices(WORDS, k=rng.randint(3, 6))).capitalize()
        taken: set[str] = set()
        sections = tuple(_heading(rng, taken) for _ in range(rng.randint(5, 6)))
        slug = f"{heading_slug(title)[:60].strip('-')}-{i + 1}"
        plans.append(Plan(i, slug, title, sections))
    return plans


def reference_keys(articles: int) -> list[str]:
    """Bibliography keys: enough that every one is cited (an unused one is a warning)."""
    return [f"example{2000 + n}" for n in range(max(3, min(40, 2 * articles)))]


def _article(plan: Plan, plans: list[Plan], keys: list[str], seed: int) -> str:
    rng = random.Random(f"{seed}-article-{plan.index}")
    day = ANCHOR - timedelta(days=rng.randint(0, SPAN_DAYS))
    tags = rng.sample(TOPICS, rng.randint(2, 5))
    # Citations: two fixed keys give every key a citing article, one or two more by chance.
    cites = [keys[(2 * plan.index) % len(keys)], keys[(2 * plan.index + 1) % len(keys)]]
    cites += rng.sample(keys, rng.randint(1, 2))
    others = [p for p in rng.sample(plans, min(len(plans), 4)) if p.index != plan.index][:3]
    links = [
        f"[{other.title.lower()}]({other.slug}.md#{heading_slug(rng.choice(other.sections))})"
        for other in others
    ]
    summary = _sentence(rng, 12, 20)
    front = [
        "---",
        f"title: {plan.title}",
        f"date: {day.isoformat()}",
        f"summary: {summary}",
        "tags: [" + ", ".join(f'"#{t}"' for t in tags) + "]",
        f"author: {rng.choice(AUTHORS)}",
        "---",
        "",
    ]
    out: list[str] = [_paragraph(rng, 5), _paragraph(rng, 4)]
    footnotes: list[str] = []
    table_at = rng.randrange(len(plan.sections))
    code_at = rng.randrange(len(plan.sections)) if rng.random() < 0.3 else -1
    taken = {heading_slug(s) for s in plan.sections}
    for n, section in enumerate(plan.sections):
        out.append(f"## {section}")
        text = _paragraph(rng, rng.randint(4, 6))
        if cites:
            text = text[:-1] + f" [@{cites.pop()}]."
        if rng.random() < 0.4:
            footnotes.append(_sentence(rng, 6, 12))
            text += f"[^{len(footnotes)}]"
        out.append(text)
        if links and rng.random() < 0.6:
            out.append(f"{_sentence(rng)} You might also read about {links.pop()}.")
        if n % 2 == 0:
            bullet = "1." if rng.random() < 0.3 else "-"
            out.append(
                "\n".join(f"{bullet} {_sentence(rng, 4, 9)}" for _ in range(rng.randint(3, 5)))
            )
        if n == table_at:
            rows = [
                "| Idea | What it can mean | One small step |",
                "|---|---|---|",
            ]
            for _ in range(rng.randint(3, 5)):
                rows.append(
                    "| "
                    + " | ".join(" ".join(rng.choices(WORDS, k=rng.randint(2, 5))) for _ in "abc")
                    + " |"
                )
            out.append("\n".join(rows))
        if n == code_at:
            language = rng.choice(LANGUAGES)
            lines = [f"{rng.choice(WORDS)}_{k} = {rng.randint(1, 99)}" for k in range(4)]
            out.append(f"```{language}\n" + "\n".join(lines) + "\n```")
        if rng.random() < 0.5:
            out.append(f"### {_heading(rng, taken)}")
            out.append(_paragraph(rng, rng.randint(3, 5)))
    for cite in cites:  # any left over go into one closing paragraph
        out.append(_sentence(rng)[:-1] + f" [@{cite}].")
    for link in links:
        out.append(f"See also {link}.")
    if plan.index % 7 == 0:
        out.append(
            "If this brings up something hard, [get help](../pages/get-help.md) lists support lines."
        )
    out.append("## Questions")
    asked: set[str] = set()
    for _ in range(rng.randint(2, 3)):
        while True:
            question = f"{rng.choice(QUESTION_STARTS)} {' '.join(rng.choices(WORDS, k=rng.randint(3, 6)))}?"
            if heading_slug(question) not in taken | asked:
                asked.add(heading_slug(question))
                break
        out.append(f"### {question}")
        out.append(_paragraph(rng, rng.randint(2, 3)))
    for n, note in enumerate(footnotes, 1):
        out.append(f"[^{n}]: {note}")
    return "\n".join(front) + "\n\n".join(out) + "\n"


PAGES = {
    "about": ("About Haven", "menu: 1", "[contact the editors](contact.md)"),
    "contact": ("Contact us", "menu: 2", "[editorial policy](editorial-policy.md)"),
    "get-help": ("Get help", "layout: help", "[online safety](online-safety.md)"),
    "online-safety": ("Online safety", "", "[accessibility statement](accessibility.md)"),
    "editorial-policy": ("Editorial policy", "", "[about Haven](about.md)"),
    "accessibility": ("Accessibility statement", "", "[get help](get-help.md)"),
}


def _page(name: str, first_article: str | None, seed: int) -> str:
    rng = random.Random(f"{seed}-page-{name}")
    title, extra, link = PAGES[name]
    front = ["---", f"title: {title}", f"summary: {_sentence(rng, 10, 16)}"]
    front += [extra] if extra else []
    out = [_paragraph(rng, 3)]
    taken: set[str] = set()
    for _ in range(3):
        out.append(f"## {_heading(rng, taken)}")
        out.append(_paragraph(rng, rng.randint(2, 4)))
    out.append(f"{_sentence(rng)} See our {link}.")
    if first_article:
        out.append(f"You might start with [an article](../articles/{first_article}.md).")
    return "\n".join([*front, "---", ""]) + "\n\n".join(out) + "\n"


def _references(keys: list[str], seed: int) -> str:
    rng = random.Random(f"{seed}-references")
    lines = ["# Synthetic bibliography of the benchmark corpus: not real works."]
    for key in keys:
        title = " ".join(rng.choices(WORDS, k=rng.randint(4, 9))).capitalize()
        lines += [
            f"- key: {key}",
            f"  authors: Example, {rng.choice('ABCDEFGHJKLMNPRSTW')}.; Sample, {rng.choice('ABCDE')}.",
            f"  year: {key.removeprefix('example')[-4:]}",
            f"  title: {title}",
            "  container: Journal of Synthetic Examples",
            f"  volume: '{rng.randint(1, 40)}'",
            f"  pages: {rng.randint(1, 200)}-{rng.randint(201, 400)}",
        ]
    return "\n".join(lines) + "\n"


def site_yaml(source: Path = HAVEN / "site.yaml") -> str:
    """The project's own site.yaml (same topics, notes, support, exit settings), search on."""
    text = source.read_text(encoding="utf-8")
    # The site's "start here" paths name its own articles, which a synthetic corpus does not have.
    text = re.sub(r"(?m)^start_here:\n(?:[ \t]+.*\n|[ \t]*\n)*", "", text)
    if re.search(r"(?m)^search:", text):
        return re.sub(r"(?m)^search:.*$", "search: true", text)
    return text.rstrip("\n") + "\nsearch: true\n"


def make_corpus(out: Path, articles: int, seed: int = 1) -> Path:
    """Write a complete Haven project with `articles` synthetic articles into `out`; return it.

    Files already in `out` under content/, templates/ and static/ are replaced, so a corpus
    folder can be regenerated in place (its _site/ and .cache/ are left alone).
    """
    if articles < 1:
        raise ValueError("a corpus needs at least one article")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("content", "templates", "static"):
        shutil.rmtree(out / name, ignore_errors=True)
    # Copies, not symlinks: the pipeline refuses symlinks that leave the project.
    shutil.copytree(HAVEN / "templates", out / "templates")
    shutil.copytree(HAVEN / "static", out / "static")
    (out / "site.yaml").write_text(site_yaml(), encoding="utf-8")

    rng = random.Random(f"{seed}-plan")
    plans = _plan(rng, articles)
    keys = reference_keys(articles)
    folder = out / "content" / "articles"
    folder.mkdir(parents=True)
    for plan in plans:
        (folder / f"{plan.slug}.md").write_text(_article(plan, plans, keys, seed), encoding="utf-8")
    pages = out / "content" / "pages"
    pages.mkdir()
    for name in PAGES:
        (pages / f"{name}.md").write_text(_page(name, plans[0].slug, seed), encoding="utf-8")
    (out / "content" / "references.yaml").write_text(_references(keys, seed), encoding="utf-8")
    return out


def article_paths(root: Path) -> list[Path]:
    """The corpus's article files, in a stable order (the benchmark edits the first one)."""
    return sorted((Path(root) / "content" / "articles").glob("*.md"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write a synthetic Haven project for the benchmark.")
    p.add_argument("--articles", "-n", type=int, required=True, help="how many articles")
    p.add_argument("--out", required=True, help="folder to write the project into")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = p.parse_args(argv)
    if args.articles < 1:
        p.error("--articles must be at least 1")
    make_corpus(Path(args.out), args.articles, args.seed)
    print(f"wrote {args.articles} articles to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
