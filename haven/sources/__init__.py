"""Sources: the project's Markdown files, their front matter, and the bibliography."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..model import BuildOptions, Document
from ..urls import document_url


def select(docs: Sequence[Document], options: BuildOptions, now: datetime):
    """Published articles (newest first) and pages; what was left out and why."""
    articles, pages, drafts, future = [], [], [], []
    unpublished: dict[str, tuple[str, str]] = {}
    for doc in docs:
        if doc.kind == "page":
            if doc.draft and not options.drafts:
                drafts.append(doc.path)
                unpublished[doc.rel] = (document_url(doc.kind, doc.slug), "a draft")
            else:
                pages.append(doc)
            continue
        if doc.draft and not options.drafts:
            drafts.append(doc.path)
            unpublished[doc.rel] = (document_url(doc.kind, doc.slug), "a draft")
        elif doc.date > now and not options.future:
            future.append(doc.path)
            unpublished[doc.rel] = (
                document_url(doc.kind, doc.slug),
                f"scheduled for {doc.date:%Y-%m-%d}",
            )
        else:
            articles.append(doc)
    articles.sort(key=lambda d: (d.date, d.path), reverse=True)
    return articles, pages, unpublished, drafts, future
