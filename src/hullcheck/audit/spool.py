"""Where a host's records wait while the store cannot be written (a PostgreSQL restart, a
network cut): one file per host, JSON lines in arrival order, each line flushed to disk
before the event is considered taken. When the store answers again the spool is appended
first, in order, then emptied; a collector restarted meanwhile resumes from it.

A record written to the store whose spool was not yet emptied (the machine died between the
two) is written again when the spool is next drained: the log can repeat a record after a
crash, never lose one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Sequence

import orjson

from hullcheck.audit.records import Record
from hullcheck.errors import StoreError
from hullcheck.files import private_dir, private_file

_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}")


class Spool:
    """One host's waiting records."""

    def __init__(self, directory: str, host: str) -> None:
        name = host if _PLAIN.fullmatch(host) else hashlib.sha256(host.encode()).hexdigest()
        self.path = os.path.join(private_dir(directory), f"{name}.jsonl")

    def add(self, records: Sequence[Record], cursor: int | None) -> None:
        """Keep ``records`` (and the event cursor they lead to) on disk."""
        private_file(self.path)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
        with os.fdopen(fd, "ab") as handle:
            for item in records:
                handle.write(orjson.dumps({"record": item.as_dict(), "cursor": cursor}) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())

    def waiting(self) -> tuple[list[Record], int | None]:
        """The records waiting, oldest first, and the cursor of the last."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return [], None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read the audit spool ({exc.strerror})") from None
        records: list[Record] = []
        cursor: int | None = None
        with os.fdopen(fd, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    item = orjson.loads(line)
                    records.append(Record(**item["record"]))
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    if line.endswith(b"\n"):
                        raise StoreError(
                            f"{self.path}: line {number} is not a spooled audit record",
                            hint="move the file aside to let the collector start; it is "
                            "evidence of what the store missed",
                        ) from None
                    break  # the last line, cut short by a crash while it was written
                if item.get("cursor") is not None:
                    cursor = int(item["cursor"])
        return records, cursor

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
