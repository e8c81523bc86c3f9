"""A short hierarchy of failures. Only haven/cli.py turns them into exit codes."""

from __future__ import annotations

from .model import Diagnostic


class HavenError(Exception):
    """Base class: carries every diagnostic that made the operation fail."""

    exit_code = 1

    def __init__(self, message: str, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...] = ()):
        super().__init__(message)
        self.diagnostics = tuple(diagnostics)


class UsageError(HavenError):
    """Raised by the CLI for bad arguments or an unsafe output folder (exit 2)."""

    exit_code = 2


class ConfigError(HavenError):
    """Raised by haven.config when site.yaml is missing, malformed or has bad values (exit 2)."""

    exit_code = 2


class ContentError(HavenError):
    """Raised by the pipeline when content or templates have errors (exit 1)."""

    exit_code = 1


class BuildError(HavenError):
    """Raised while writing the output: I/O failure, lock held, path collision (exit 1)."""

    exit_code = 1
