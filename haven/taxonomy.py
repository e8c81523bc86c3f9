"""Hashtag topics: one identity (the key) however a tag is spelled, grouping and relations."""

from __future__ import annotations

import difflib
import hashlib
import heapq
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from .model import WARNING, Diagnostic, Document, Topic

_DROP = {ord(c): None for c in " \t\n\r\f\v-_\u00a0\u3000"}


def tag_key(raw: str) -> str:
    """NFKC, strip, drop one leading '#', casefold, remove spaces, hyphens and underscores."""
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if text.startswith("#"):
        text = text[1:]
    return unicodedata.normalize("NFC", text.casefold().translate(_DROP))


def fallback_key(raw: str) -> str:
    """A stable key for a tag with no letters or digits ('!!!', an emoji alone)."""
    return "t-" + hashlib.sha1(str(raw).strip().encode("utf-8")).hexdigest()[:8]


def topic_slug(key: str) -> str:
    """The path segment under /tags/: Unicode letters and digits kept, never empty."""
    # Python-Markdown's own slugs (as heading ids use), imported here: reading site.yaml needs
    # this module, and a build with nothing to do needs no Markdown.
    from markdown.extensions.toc import slugify_unicode

    slug = unicodedata.normalize("NFC", slugify_unicode(key, "-"))
    return slug or fallback_key(key)


def hashtag_for(label: str, key: str, aliases: Sequence[str] = (), declared: str = "") -> str:
    """The topic as a CamelCase hashtag ('#TraumaInformedCare'), read as words by screen readers.

    Made from the label's words unless site.yaml declares one; when the label's words do not
    spell the key (or an alias), the key itself, so that the hashtag always leads to the topic.
    """
    if declared:
        return declared
    words = re.findall(r"[^\W_]+", label)
    camel = "".join(w[:1].upper() + w[1:] for w in words)
    return "#" + (camel if camel and tag_key(camel) in (key, *aliases) else key)


def hashtag_words(hashtag: str) -> list[str]:
    """'#TraumaInformedCare' -> ['Trauma', 'Informed', 'Care']: where a line may break."""
    text = hashtag.removeprefix("#")
    words: list[str] = []
    for i, c in enumerate(text):
        if words and c.isupper() and (text[i - 1].islower() or text[i - 1].isdigit()):
            words.append(c)
        elif words:
            words[-1] += c
        else:
            words.append(c)
    return words


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@dataclass(frozen=True)
class Taxonomy:
    topics: dict[str, Topic]  # key -> Topic, only topics with published articles or in vocabulary
    by_article: dict[str, tuple[str, ...]]  # Document.path -> topic keys in the order written
    diagnostics: tuple[Diagnostic, ...]


def build_taxonomy(articles: Sequence[Document], vocabulary) -> Taxonomy:
    """Group published articles (newest first) by topic key; warn about odd or unknown tags.

    `vocabulary` is a sequence of TopicDef (key, label, description, aliases).
    """
    vocab = {t.key: t for t in vocabulary}
    alias = {a: t.key for t in vocabulary for a in t.aliases}
    diags: list[Diagnostic] = []
    spellings: dict[str, Counter] = defaultdict(Counter)
    first_seen: dict[str, dict[str, int]] = defaultdict(dict)
    members: dict[str, list[str]] = defaultdict(list)
    by_article: dict[str, tuple[str, ...]] = {}

    def warn(doc: Document, message: str, hint: str | None = None, code: str = "topic") -> None:
        diags.append(
            Diagnostic(
                WARNING,
                doc.path,
                doc.key_lines.get("tags"),
                None,
                message,
                key="tags",
                hint=hint,
                code=code,
            )
        )

    for order, doc in enumerate(sorted(articles, key=lambda d: d.path)):
        keys: list[str] = []
        for raw in doc.tags:
            key = tag_key(raw)
            if not key or not any(c.isalnum() for c in key):
                key = fallback_key(raw)
                warn(
                    doc,
                    f"tag {raw!r} has no letters or digits; its page is /tags/{key}/",
                    "use a word, e.g. #selfcare",
                    "empty-tag",
                )
            key = alias.get(key, key)
            if vocab and key not in vocab and not key.startswith("t-"):
                close = difflib.get_close_matches(key, list(vocab) + list(alias), n=1)
                warn(
                    doc,
                    f"topic {raw!r} is not in the vocabulary in site.yaml",
                    f"did you mean '#{alias.get(close[0], close[0])}'?"
                    if close
                    else "add it to topics: in site.yaml",
                    "unknown-topic",
                )
            if key in keys:
                continue
            keys.append(key)
            spelling = unicodedata.normalize("NFC", str(raw).strip().lstrip("#"))
            spellings[key][spelling] += 1
            first_seen[key].setdefault(spelling, order)
        by_article[doc.path] = tuple(keys)

    for doc in articles:  # newest first, as given
        for key in by_article[doc.path]:
            members[key].append(doc.path)

    topics: dict[str, Topic] = {}
    slugs: dict[str, str] = {}
    for key in sorted(set(members) | set(vocab)):
        if key in vocab:
            label, description, known = vocab[key].label, vocab[key].description, True
            hashtag = hashtag_for(label, key, vocab[key].aliases, vocab[key].hashtag)
        else:
            counts = spellings[key]
            label = min(counts, key=lambda s: (-counts[s], first_seen[key][s]))
            description, known = "", False
            hashtag = hashtag_for(label, key)
        slug = topic_slug(key)
        if slug in slugs:
            slug = f"{slug}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"
        slugs[slug] = key
        members_of = tuple(members.get(key, ()))
        topics[key] = Topic(key, slug, label, description, known, members_of, hashtag)

    by_plain: dict[str, list[str]] = defaultdict(list)
    for key in topics:
        by_plain[_strip_accents(key)].append(key)
    for _plain, keys in sorted(by_plain.items()):
        if len(keys) > 1:
            diags.append(
                Diagnostic(
                    WARNING,
                    "content",
                    None,
                    None,
                    f"topics {', '.join('#' + k for k in sorted(keys))} differ only by accents",
                    hint="they are kept apart; use one spelling if they mean the same",
                    code="topic-accents",
                )
            )
    return Taxonomy(topics, by_article, tuple(diags))


def related_articles(
    path: str, tax: Taxonomy, dates: dict[str, object], *, limit: int = 3, per_topic: int = 20
) -> list[str]:
    """Articles sharing the most topics with `path`, newest first on ties.

    Candidates are the `per_topic` newest of each of the article's topics, so the work is
    O(topics x per_topic) per article rather than a comparison of all pairs.
    """
    mine = set(tax.by_article.get(path, ()))
    candidates: set[str] = set()
    for key in mine:
        topic = tax.topics.get(key)
        if topic:
            candidates.update(topic.articles[: per_topic + 1])
    candidates.discard(path)
    scored = ((len(mine.intersection(tax.by_article[c])), dates[c], c) for c in candidates)
    return [c for _, _, c in heapq.nlargest(limit, scored)]


def related_topics(key: str, tax: Taxonomy, *, limit: int = 5) -> list[str]:
    """Topics that share the most articles with `key`."""
    counts: Counter = Counter()
    for path in tax.topics[key].articles:
        for other in tax.by_article[path]:
            if other != key:
                counts[other] += 1
    return [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]
