"""The build state: what one build leaves for the next, behind one interface with two backends.

`DiskState` keeps it in the store (.cache/haven/store.sqlite), for command-line builds, each a
new process. `MemoryState` keeps the same values as objects in memory between the builds of one
long-running process (the dev server), and shares the store's bodies, rewritten links and output
folder states with command-line builds. The pipeline only ever sees a `State`: it has no branch
on which backend it has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .store import Store


class State:
    """Named values and parsed sources kept between builds; bodies and links in `store`."""

    def __init__(self, store: Store):
        self.store = store

    @classmethod
    def for_project(cls, root: Path) -> State:
        return cls(Store.for_project(Path(root).resolve()))

    def documents(self) -> dict[tuple, tuple]:
        """Parsed sources by their key: the loader adds to it what it parses."""
        raise NotImplementedError

    def keep_documents(self, known: set[tuple], live: dict[tuple, tuple]) -> None:
        """After loading: `live` holds every source still there (`known` were there before)."""
        raise NotImplementedError

    def get(self, name: str) -> dict:
        """A named value ({} when absent or not a dictionary)."""
        raise NotImplementedError

    def put(self, name: str, value: dict) -> None:
        raise NotImplementedError

    def memo(self, name: str) -> dict | None:
        """A place for objects worth keeping between builds of one process, or None."""
        return None

    def close(self) -> None:
        """The end of a build: a command-line build's last connection folds SQLite's log in."""


class DiskState(State):
    """The state in the store, for a process that makes one build."""

    def documents(self) -> dict[tuple, tuple]:
        return self.store.documents()

    def keep_documents(self, known: set[tuple], live: dict[tuple, tuple]) -> None:
        added = {key: live[key] for key in set(live) - known}
        removed = list(known - set(live))
        if added or removed:
            self.store.update_documents(added, removed)

    def get(self, name: str) -> dict:
        value = self.store.get(name)
        return value if isinstance(value, dict) else {}

    def put(self, name: str, value: dict) -> None:
        self.store.put(name, value)

    def close(self) -> None:
        self.store.close()


class MemoryState(State):
    """The state as objects in memory, for a process that makes many builds (the dev server)."""

    def __init__(self, store: Store):
        super().__init__(store)
        self._documents: dict[tuple, tuple] = {}
        self._values: dict[str, dict] = {}
        self._memos: dict[str, dict] = {}

    def documents(self) -> dict[tuple, tuple]:
        return self._documents

    def keep_documents(self, known: set[tuple], live: dict[tuple, tuple]) -> None:
        self._documents = live

    def get(self, name: str) -> dict:
        return self._values.get(name, {})

    def put(self, name: str, value: Any) -> None:
        self._values[name] = value

    def memo(self, name: str) -> dict:
        return self._memos.setdefault(name, {})
