"""Rules on a Dockerfile (multi-stage aware: what only a builder stage does is not what the
image ships)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

from hullcheck.model.policy import Target
from hullcheck.model.vuln import Severity
from hullcheck.policy.dockerfile import Dockerfile, Instruction, exec_form
from hullcheck.policy.interface import Hit, Rule, Settings, describer
from hullcheck.policy.secrets import holds_secret, secret_name

_ROOT = frozenset({"root", "0", "root:root", "0:0"})
_APT_INSTALL = re.compile(r"\bapt(?:-get)?\s+(?:-\S+\s+)*install\b")
_APT_UPDATE = re.compile(r"\bapt(?:-get)?\s+(?:-\S+\s+)*update\b")
_APK_ADD = re.compile(r"\bapk\s+(?:-\S+\s+)*add\b")
_PIP_INSTALL = re.compile(r"\bpip[0-9.]*\s+(?:-\S+\s+)*install\b")
_PIPE_TO_SHELL = re.compile(
    r"\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(sh|bash|zsh|dash|ash|python[0-9.]*|perl)\b"
)
_SUDO = re.compile(r"(^|[;&|]\s*)sudo\s")
_COMMANDS = re.compile(r"&&|\|\||;|\n")


def _final_instructions(doc: Dockerfile) -> Iterator[Instruction]:
    """The instructions of the final stage and of the stages it is built on."""
    chain = {doc.final.index}
    stage = doc.final
    while stage.from_stage:
        earlier = [s for s in doc.stages if s.name and s.name.lower() == stage.base.lower()]
        if not earlier:
            break
        stage = earlier[-1]
        chain.add(stage.index)
    return (i for i in doc.instructions if i.stage in chain)


def _root_user(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    users = [i for i in _final_instructions(doc) if i.keyword == "USER"]
    if not users:
        yield Hit("no USER instruction: the image runs as root", doc.final.line, doc.path)
        return
    last = users[-1]
    if last.arguments.strip().lower() in _ROOT:
        yield Hit(f"the last USER is {last.arguments.strip()}", last.line, doc.path)


def _base_references(doc: Dockerfile) -> Iterator[tuple[str, int]]:
    for stage in doc.stages:
        if not stage.from_stage and stage.base.lower() != "scratch":
            yield stage.base, stage.line


def _base_latest(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    for base, line in _base_references(doc):
        if "@" in base or "$" in base:
            continue
        name = base.rsplit("/", 1)[-1]
        if ":" not in name:
            yield Hit(f"base image {base} has no tag (it means latest)", line, doc.path)
        elif name.endswith(":latest"):
            yield Hit(f"base image {base} is tagged latest", line, doc.path)


def _base_undigested(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    for base, line in _base_references(doc):
        if "@sha256:" not in base:
            yield Hit(f"base image {base} is not pinned by digest", line, doc.path)


def _runs(doc: Dockerfile) -> Iterator[Instruction]:
    return (i for i in doc.instructions if i.keyword == "RUN")


def _commands(instruction: Instruction) -> list[str]:
    return [c.strip() for c in _COMMANDS.split(instruction.script) if c.strip()]


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=False)
    except ValueError:
        return command.split()


def _install_arguments(command: str, matcher: re.Pattern[str]) -> list[str]:
    found = matcher.search(command)
    if found is None:
        return []
    return [w for w in _words(command[found.end() :]) if not w.startswith("-") and "$" not in w]


def _unpinned(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    for run in _runs(doc):
        for command in _commands(run):
            loose = [p for p in _install_arguments(command, _APT_INSTALL) if "=" not in p]
            loose += [p for p in _install_arguments(command, _APK_ADD) if "=" not in p]
            pip = _install_arguments(command, _PIP_INSTALL)
            if pip and not any(w in command for w in ("-r ", "--requirement", "-c ")):
                loose += [p for p in pip if not re.search(r"==|@|\.whl$|\.tar\.gz$|^\.", p)]
            if loose:
                shown = ", ".join(loose[:5]) + (" …" if len(loose) > 5 else "")
                yield Hit(f"packages installed without a version: {shown}", run.line, doc.path)


def _add_url(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    for add in (i for i in doc.instructions if i.keyword == "ADD"):
        words = exec_form(add.arguments) or _words(add.arguments)
        urls = [w for w in words[:-1] if re.match(r"(https?|git)://|git@", w)]
        if urls and "checksum" not in add.flags:
            yield Hit(f"ADD fetches {urls[0]} without --checksum", add.line, doc.path)


def _add_local(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    for add in (i for i in doc.instructions if i.keyword == "ADD"):
        words = exec_form(add.arguments) or _words(add.arguments)
        local = [w for w in words[:-1] if not re.match(r"(https?|git)://|git@", w)]
        archives = re.compile(r"\.(tar|tgz|tar\.(gz|bz2|xz|zst)|tbz2?|txz)$")
        plain = [w for w in local if not archives.search(w)]
        if plain and not add.heredocs:
            yield Hit(f"ADD copies {plain[0]}: COPY says what it does", add.line, doc.path)


def _pipe_to_shell(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    for run in _runs(doc):
        found = _PIPE_TO_SHELL.search(run.script)
        if found:
            yield Hit(f"a download is piped into {found.group(3)} unverified", run.line, doc.path)


def _env_pairs(instruction: Instruction) -> Iterator[tuple[str, str | None]]:
    words = _words(instruction.arguments)
    if instruction.keyword == "ENV" and words and "=" not in words[0]:
        yield words[0], " ".join(words[1:])  # the legacy ``ENV NAME value``
        return
    for word in words:
        name, equals, value = word.partition("=")
        yield name, (value if equals else None)


def _secret_settings(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    for instruction in doc.instructions:
        if instruction.keyword not in ("ENV", "ARG"):
            continue
        for name, value in _env_pairs(instruction):
            if instruction.keyword == "ENV" and value is not None and holds_secret(name, value):
                yield Hit(
                    f"ENV {name} sets a secret in the image (its value is in every container)",
                    instruction.line,
                    doc.path,
                )
            elif instruction.keyword == "ARG" and (
                secret_name(name) or (value is not None and holds_secret(name, value))
            ):
                yield Hit(
                    f"ARG {name} passes a secret as a build argument (kept in the image's history)",
                    instruction.line,
                    doc.path,
                )


def _no_healthcheck(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    checks = [i for i in _final_instructions(doc) if i.keyword == "HEALTHCHECK"]
    if not checks or checks[-1].arguments.strip().upper() == "NONE":
        yield Hit("the image has no HEALTHCHECK", doc.final.line, doc.path)


def _install_recommends(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    for run in _runs(doc):
        for command in _commands(run):
            if _APT_INSTALL.search(command) and "--no-install-recommends" not in command:
                yield Hit("apt-get install without --no-install-recommends", run.line, doc.path)


def _caches(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    for run in _runs(doc):
        script = run.script
        if run.flags.get("mount", "").startswith("type=cache"):
            continue
        if _APT_INSTALL.search(script) and "/var/lib/apt/lists" not in script:
            yield Hit(
                "apt lists left in the layer (rm -rf /var/lib/apt/lists/*)", run.line, doc.path
            )
        if _APK_ADD.search(script) and "--no-cache" not in script:
            yield Hit("apk's cache left in the layer (apk add --no-cache)", run.line, doc.path)
        if _PIP_INSTALL.search(script) and "--no-cache-dir" not in script:
            yield Hit(
                "pip's cache left in the layer (pip install --no-cache-dir)", run.line, doc.path
            )


def _update_alone(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    for run in _runs(doc):
        script = run.script
        if _APT_UPDATE.search(script) and not _APT_INSTALL.search(script):
            yield Hit(
                "apt-get update alone: a later layer installs from a stale, cached index",
                run.line,
                doc.path,
            )


def _sudo(doc: Dockerfile, _: Settings) -> Iterator[Hit]:
    for run in _runs(doc):
        if any(_SUDO.search(c) for c in _commands(run)):
            yield Hit("sudo in a build step", run.line, doc.path)


_rule = describer("HC-DF", Target.DOCKERFILE)


DOCKERFILE_RULES: tuple[Rule[Dockerfile], ...] = (
    Rule(
        _rule(
            1,
            "dockerfile-root-user",
            Severity.HIGH,
            "The image runs as root",
            "A process that breaks out of its application runs with root's rights in the "
            "container, one kernel bug away from root on the host.",
            "Create a user and end the final stage with USER that-user (a numeric UID "
            "works with runAsNonRoot checks).",
            cis="4.1",
            cis_title="Ensure that a user for the container has been created",
            hadolint="DL3002",
            dockle="CIS-DI-0001",
        ),
        _root_user,
    ),
    Rule(
        _rule(
            2,
            "dockerfile-base-latest",
            Severity.MEDIUM,
            "Base image untagged or tagged latest",
            "latest moves: the same Dockerfile builds a different image tomorrow, and nobody "
            "reviewed what changed.",
            "Name a version tag (debian:12.8) — better, a digest.",
            cis="4.2",
            cis_title="Ensure that containers use only trusted base images",
            hadolint="DL3006/DL3007",
        ),
        _base_latest,
    ),
    Rule(
        _rule(
            3,
            "dockerfile-base-undigested",
            Severity.LOW,
            "Base image not pinned by digest",
            "A tag can be pushed again: only a digest names exactly the bytes that were reviewed.",
            "FROM name:tag@sha256:… (Renovate and Dependabot keep digests current).",
            cis="4.2",
            cis_title="Ensure that containers use only trusted base images",
        ),
        _base_undigested,
    ),
    Rule(
        _rule(
            4,
            "dockerfile-unpinned-packages",
            Severity.MEDIUM,
            "Packages installed without a version",
            "An unpinned install takes whatever the mirror serves that day: builds drift and "
            "cannot be reproduced when a patch must be verified.",
            "Pin versions (apt-get install pkg=1.2-3, apk add pkg=1.2-r0, pip install "
            "pkg==1.2 or a hashed requirements file).",
            hadolint="DL3008/DL3018/DL3013",
        ),
        _unpinned,
    ),
    Rule(
        _rule(
            5,
            "dockerfile-add-url",
            Severity.HIGH,
            "ADD downloads a URL without a checksum",
            "What the URL serves at build time goes into the image unverified.",
            "ADD --checksum=sha256:… URL, or download in a RUN step that checks a digest.",
            cis="4.9",
            cis_title="Ensure that COPY is used instead of ADD in Dockerfiles",
            hadolint="DL3020",
        ),
        _add_url,
    ),
    Rule(
        _rule(
            6,
            "dockerfile-add-instead-of-copy",
            Severity.LOW,
            "ADD used to copy local files",
            "ADD also unpacks archives and fetches URLs: a file that turns into an archive "
            "changes what the step does.",
            "Use COPY for local files and directories.",
            cis="4.9",
            cis_title="Ensure that COPY is used instead of ADD in Dockerfiles",
            hadolint="DL3020",
        ),
        _add_local,
    ),
    Rule(
        _rule(
            7,
            "dockerfile-pipe-to-shell",
            Severity.HIGH,
            "A download is piped into a shell",
            "curl | sh runs whatever the server (or anyone between) sends, with no record of "
            "what ran.",
            "Download to a file, check its digest or signature, then run it.",
            cis="4.11",
            cis_title="Ensure only verified packages are installed",
        ),
        _pipe_to_shell,
    ),
    Rule(
        _rule(
            8,
            "dockerfile-secret",
            Severity.CRITICAL,
            "A secret in ENV or ARG",
            "ENV values are in the image config of every copy of the image; build arguments "
            "are written into its history. Anyone who can pull the image has the secret.",
            "Use a build secret (RUN --mount=type=secret) and runtime secrets or a secret manager.",
            cis="4.10",
            cis_title="Ensure secrets are not stored in Dockerfiles",
            dockle="CIS-DI-0010",
        ),
        _secret_settings,
    ),
    Rule(
        _rule(
            9,
            "dockerfile-no-healthcheck",
            Severity.LOW,
            "No HEALTHCHECK",
            "Without one the engine cannot tell a hung service from a healthy one.",
            "Add HEALTHCHECK CMD a-cheap-probe.",
            cis="4.6",
            cis_title="Ensure that HEALTHCHECK instructions have been added to container images",
            dockle="CIS-DI-0006",
        ),
        _no_healthcheck,
    ),
    Rule(
        _rule(
            10,
            "dockerfile-install-recommends",
            Severity.LOW,
            "apt-get install without --no-install-recommends",
            "Recommended packages are code nobody asked for: more to patch, more to exploit.",
            "apt-get install --no-install-recommends …",
            cis="4.3",
            cis_title="Ensure that unnecessary packages are not installed in the container",
            hadolint="DL3015",
        ),
        _install_recommends,
    ),
    Rule(
        _rule(
            11,
            "dockerfile-package-cache",
            Severity.LOW,
            "Package manager caches left in the layer",
            "Indexes and caches make the image larger and record where it was built from.",
            "Remove them in the same RUN (rm -rf /var/lib/apt/lists/*, apk --no-cache, pip "
            "--no-cache-dir) or use a cache mount.",
            hadolint="DL3009/DL3019/DL3042",
            dockle="DKL-DI-0005",
        ),
        _caches,
    ),
    Rule(
        _rule(
            12,
            "dockerfile-update-alone",
            Severity.MEDIUM,
            "apt-get update in a step of its own",
            "The update's layer is cached: a later install reads an index from the day the "
            "cache was made and misses security updates.",
            "Update and install in one RUN.",
            cis="4.7",
            cis_title="Ensure update instructions are not used alone in the Dockerfile",
            dockle="CIS-DI-0007",
        ),
        _update_alone,
    ),
    Rule(
        _rule(
            13,
            "dockerfile-sudo",
            Severity.MEDIUM,
            "sudo in a build step",
            "Build steps run as the USER set before them; sudo in an image means a user that "
            "can become root.",
            "Switch USER around the steps that need root.",
            hadolint="DL3004",
        ),
        _sudo,
    ),
)
