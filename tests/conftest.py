"""Shared test setup: the search tests qualify the Pagefind that is installed.

CI installs today's release of every dependency. Haven merges and splices Pagefind's bundle only
for the releases in `haven.search.bundle.TESTED_VERSIONS` (any other indexes the whole site in one
run); the tests open that gate for the installed release, so a release that changes the format
fails the equivalence tests (tests/test_search_index.py, tests/browser/test_search_ranking.py)
instead of passing on the fallback. A release they pass with can be added to TESTED_VERSIONS.
"""

from __future__ import annotations

import pytest

from haven.search import bundle, find_pagefind, pagefind_version

_BINARY = find_pagefind()
_INSTALLED = pagefind_version(_BINARY) if _BINARY is not None else None


@pytest.fixture(autouse=True)
def _installed_pagefind_is_tested(monkeypatch):
    if _INSTALLED is not None and _INSTALLED not in bundle.TESTED_VERSIONS:
        monkeypatch.setattr(bundle, "TESTED_VERSIONS", bundle.TESTED_VERSIONS | {_INSTALLED})
