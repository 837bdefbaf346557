"""A Dockerfile as the rules see it: its instructions with their lines, grouped in stages.

The text is split by ``dockerfile-parse`` (line continuations, comments, the ``escape``
directive); BuildKit heredocs (``RUN <<EOF`` … ``EOF``), which it does not know, are joined
back to their instruction here. What Docker itself would refuse is refused with the line and
column named: an unknown instruction, an instruction before the first ``FROM`` other than
``ARG``, a ``FROM`` without an image, a heredoc never closed.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from dockerfile_parse import DockerfileParser  # type: ignore[import-untyped]  # no hints

from hullcheck.errors import PolicyError

KEYWORDS = frozenset(
    [
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    ]
)
MAX_BYTES = 4 * 1024 * 1024
"""A Dockerfile larger than this is refused (real ones are a few kB)."""
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_FLAG = re.compile(r"--([a-z][a-z-]*)(?:=(\S*))?")


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str
    """Upper case (``RUN``)."""
    value: str
    """Everything after the keyword, continuations joined, flags included."""
    line: int
    """1-based first line."""
    stage: int
    """Index of the stage it belongs to (``-1``: the ``ARG``\\s before the first ``FROM``)."""
    flags: dict[str, str] = field(default_factory=dict)
    """Leading ``--name=value`` flags (``COPY --from=build``)."""
    heredocs: tuple[str, ...] = ()
    """The bodies of its heredocs."""

    @property
    def arguments(self) -> str:
        """The value without its leading flags."""
        words = self.value.split(None, len(self.flags))
        return words[len(self.flags)] if len(words) > len(self.flags) else ""

    @property
    def script(self) -> str:
        """What a ``RUN`` runs: its arguments (the exec form's words joined) and heredocs."""
        words = exec_form(self.arguments)
        text = " ".join(words) if words is not None else self.arguments
        return "\n".join((text, *self.heredocs))


@dataclass(frozen=True, slots=True)
class Stage:
    index: int
    base: str
    """The image or earlier stage named by ``FROM``."""
    name: str | None
    line: int
    from_stage: bool
    """Whether ``base`` is an earlier stage, not an image."""


@dataclass(frozen=True, slots=True)
class Dockerfile:
    path: str
    instructions: tuple[Instruction, ...]
    stages: tuple[Stage, ...]

    def in_stage(self, index: int) -> tuple[Instruction, ...]:
        return tuple(i for i in self.instructions if i.stage == index)

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def exec_form(arguments: str) -> list[str] | None:
    """The words of a JSON (exec) form, or ``None`` when it is the shell form."""
    text = arguments.strip()
    if not text.startswith("["):
        return None
    try:
        words = json.loads(text)
    except ValueError:
        return None  # Docker runs an invalid JSON array as a shell command
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        return None
    return words


def read(path: str) -> Dockerfile:
    """Parse the Dockerfile at ``path``."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the Dockerfile ({exc.strerror})") from None
    return parse(data, path)


def parse(data: bytes, path: str) -> Dockerfile:
    if len(data) > MAX_BYTES:
        raise PolicyError(f"{path}: {len(data)} bytes is too large for a Dockerfile")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PolicyError(f"{path}: line {line}, column {column}: not UTF-8 text") from None
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()), env_replace=False)
    structure: list[dict[str, Any]] = parser.structure
    instructions = _instructions(structure, path)
    stages = _stages(instructions, path)
    if not stages:
        raise PolicyError(f"{path}: no FROM instruction; not a Dockerfile")
    return Dockerfile(os.fspath(path), tuple(instructions), tuple(stages))


def _instructions(structure: list[dict[str, Any]], path: str) -> list[Instruction]:
    found: list[Instruction] = []
    stage = -1
    pending: list[tuple[str, str]] = []  # heredocs still open: (word, strip tabs)
    bodies: list[str] = []
    body: list[str] = []
    for entry in structure:
        line = int(entry["startline"]) + 1
        if pending:
            word, _ = pending[0]
            content = str(entry["content"])
            if content.strip() == word:
                bodies.append("\n".join(body))
                body = []
                pending.pop(0)
                if not pending:
                    last = found[-1]
                    found[-1] = Instruction(
                        last.keyword, last.value, last.line, last.stage, last.flags, tuple(bodies)
                    )
                    bodies = []
            else:
                body.append(content.rstrip("\n"))
            continue
        keyword = str(entry["instruction"]).upper()
        if keyword == "COMMENT":
            continue
        if keyword not in KEYWORDS:
            column = len(entry["content"]) - len(str(entry["content"]).lstrip()) + 1
            raise PolicyError(
                f"{path}: line {line}, column {column}: unknown instruction {keyword[:40]!r}"
            )
        value = str(entry["value"])
        if keyword == "FROM":
            stage += 1
        elif stage < 0 and keyword != "ARG":
            raise PolicyError(f"{path}: line {line}, column 1: {keyword} before the first FROM")
        if keyword in ("RUN", "COPY", "ADD"):
            pending = [(m.group(3), m.group(1)) for m in _HEREDOC.finditer(value)]
        found.append(Instruction(keyword, value, line, stage, _flags(value)))
    if pending:
        raise PolicyError(
            f"{path}: line {found[-1].line}: the heredoc {pending[0][0]!r} is never closed"
        )
    return found


def _flags(value: str) -> dict[str, str]:
    flags: dict[str, str] = {}
    for word in value.split():
        matched = _FLAG.fullmatch(word)
        if matched is None:
            break
        flags[matched.group(1)] = matched.group(2) or ""
    return flags


def _stages(instructions: list[Instruction], path: str) -> list[Stage]:
    stages: list[Stage] = []
    names: set[str] = set()
    for instruction in instructions:
        if instruction.keyword != "FROM":
            continue
        try:
            words = shlex.split(instruction.arguments)
        except ValueError:
            words = instruction.arguments.split()
        if not words:
            raise PolicyError(f"{path}: line {instruction.line}, column 6: FROM names no image")
        base = words[0]
        name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
        from_stage = base.lower() in names
        stages.append(Stage(len(stages), base, name, instruction.line, from_stage))
        if name:
            names.add(name.lower())
    return stages
