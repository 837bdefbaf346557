"""The exception hierarchy of hullcheck.

Every stage raises a subclass of :class:`HullcheckError`; third-party exceptions are
translated where they enter. Messages start with the input that failed.

    HullcheckError                 base; the CLI prints it as one line, exit code 2
    ├── UsageError                 a bad option or argument
    ├── SourceError                an image source cannot be read (missing blob, bad manifest)
    │   ├── EngineError            the Docker Engine refused or is unreachable
    │   └── RegistryError          a registry refused, failed, or served what its digest is not
    ├── LayerError                 a layer is hostile or broken (traversal, bomb, not a tar)
    ├── SbomFormatError            an SBOM file given as input cannot be read
    ├── StoreError                 the database cannot be opened or migrated
    │   └── AppendConflict         another writer appended to an audit log first
    ├── PolicyError                a policy, Dockerfile or compose file cannot be read
    ├── VulnDbError                the vulnerability database cannot be updated or read
    │   └── FeedError              a feed cannot be downloaded or is not a feed (corrupt zip)
    └── DaemonError                the daemon cannot listen there, or no daemon answers
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2


class HullcheckError(Exception):
    """Base of every error hullcheck raises on purpose."""

    exit_code = EXIT_INPUT
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class UsageError(HullcheckError):
    """A command was called with options that do not fit together."""


class SourceError(HullcheckError):
    """An image source (archive, layout, engine, directory) cannot be read."""


class EngineError(SourceError):
    """The Docker Engine is unreachable or refused a request."""


class RegistryError(SourceError):
    """A registry is unreachable, refused (401, 404, 5xx) or served content that does not
    match its digest."""


class LayerError(HullcheckError):
    """A layer stream is hostile or broken; the image is refused."""


class SbomFormatError(HullcheckError):
    """An SBOM document given as input is not one hullcheck can read."""


class StoreError(HullcheckError):
    """The store cannot be opened, migrated or written."""


class AppendConflict(StoreError):
    """Another writer appended to an audit log between reading its head and appending."""


class NotFoundError(StoreError):
    """What was named is not in the store (a host)."""


class ExistsError(StoreError):
    """What would be added is in the store already (a host of that name)."""


class PolicyError(HullcheckError):
    """A policy, Dockerfile or compose file cannot be read (its line and column named)."""


class VulnDbError(HullcheckError):
    """The vulnerability database cannot be imported, updated or queried."""


class FeedError(VulnDbError):
    """A feed cannot be fetched or read; the database already stored stays as it was."""


class DaemonError(HullcheckError):
    """The daemon cannot listen where it was asked to, or no daemon answers there."""
