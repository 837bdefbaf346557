"""Rules on a built image: its run settings, its age, where it comes from, what it carries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hullcheck.fleet.hygiene.rules import image_registry
from hullcheck.model import Finding, ImageInfo
from hullcheck.model.policy import Target
from hullcheck.model.vuln import Severity
from hullcheck.policy.interface import Hit, Rule, Settings, describer
from hullcheck.policy.layerfiles import FileNote
from hullcheck.policy.secrets import holds_secret
from hullcheck.times import parse_time

_ROOT = frozenset({"", "root", "0", "root:root", "0:0"})


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What the image rules see of one image."""

    reference: str
    info: ImageInfo
    settings: dict[str, Any]
    """The config's run settings (``User``, ``Env``, ``Healthcheck`` …)."""
    findings: tuple[Finding, ...] | None = None
    """Its vulnerabilities, or ``None`` when they were not looked for."""
    vuln_threshold: Severity | None = None
    """Findings at or above this break the rule (``None``: the rule is off)."""
    files: tuple[FileNote, ...] | None = None
    """What its layers hold (``None``: the layers were not read)."""
    signed: tuple[bool, str] | None = None
    """Whether a key the policy names signed it, and what was found (``None``: the policy
    requires no signature)."""
    finding_counts: dict[str, int] | None = None
    """Its stored findings by severity, where only those are known (at the engine: the last
    scan's); ``findings`` takes precedence."""


def _root(image: ImageFacts, _: Settings) -> Iterator[Hit]:
    user = str(image.settings.get("User") or "")
    if user.strip().lower() in _ROOT:
        yield Hit(f"runs as {user or 'root (no user set)'}")


def _secret_env(image: ImageFacts, _: Settings) -> Iterator[Hit]:
    for entry in image.settings.get("Env") or []:
        name, _equals, value = str(entry).partition("=")
        if holds_secret(name, value):
            yield Hit(f"environment variable {name} holds a secret (value not shown)")


def _healthcheck(image: ImageFacts, _: Settings) -> Iterator[Hit]:
    test = (image.settings.get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] == "NONE":
        yield Hit("no health check")


def _age(image: ImageFacts, settings: Settings) -> Iterator[Hit]:
    moment = parse_time(image.info.created)
    if moment is None:
        return
    days = (settings.now - moment.timestamp()) / 86400
    if days > settings.max_age_days:
        yield Hit(f"built {int(days)} days ago (policy: at most {settings.max_age_days})")


def _registry(image: ImageFacts, settings: Settings) -> Iterator[Hit]:
    if not settings.allowed_registries:
        return
    names = [image.reference, *image.info.repo_tags, *image.info.repo_digests]
    registries = {
        image_registry(n.split("registry:", 1)[-1]) for n in names if "/" in n or ":" in n
    }
    if not registries & set(settings.allowed_registries):
        shown = ", ".join(sorted(registries)) or "no registry"
        yield Hit(f"comes from {shown}, not an allowed registry")


def _vulnerabilities(image: ImageFacts, _: Settings) -> Iterator[Hit]:
    if image.vuln_threshold is None:
        return
    if image.findings is None:
        counts = image.finding_counts or {}
        threshold = image.vuln_threshold.rank
        ranks = {s.value: s.rank for s in Severity}
        total = sum(n for name, n in counts.items() if ranks.get(name, -1) >= threshold)
        if total:
            yield Hit(
                f"{total} vulnerabilities at {image.vuln_threshold.value} or above (its last scan)"
            )
        return
    over = [f for f in image.findings if f.severity.rank >= image.vuln_threshold.rank]
    if over:
        worst = sorted({f.id for f in over})[:5]
        yield Hit(
            f"{len(over)} vulnerabilities at {image.vuln_threshold.value} or above "
            f"({', '.join(worst)}{' …' if len(over) > 5 else ''})"
        )


def _unsigned(image: ImageFacts, _: Settings) -> Iterator[Hit]:
    if image.signed is not None and not image.signed[0]:
        yield Hit(image.signed[1])


def _notes(image: ImageFacts, kind: str) -> list[FileNote]:
    return [n for n in image.files or () if n.kind == kind]


def _credential_files(image: ImageFacts, _: Settings) -> Iterator[Hit]:
    for note in _notes(image, "credential"):
        removed = (
            f" (deleted by layer {note.removed_in}, still in layer {note.layer}'s blob)"
            if note.removed_in is not None
            else ""
        )
        yield Hit(f"{note.path} holds {note.detail}, added by layer {note.layer}{removed}")


def _setuid_files(image: ImageFacts, _: Settings) -> Iterator[Hit]:
    added = [n for n in _notes(image, "setuid") if n.layer > 0]
    for note in added:
        yield Hit(f"{note.path} is setuid/setgid (mode {note.detail}), added by layer {note.layer}")


def _world_writable(image: ImageFacts, _: Settings) -> Iterator[Hit]:
    for note in _notes(image, "world-writable"):
        yield Hit(f"{note.path} is writable by every user (mode {note.detail}), layer {note.layer}")


_rule = describer("HC-IM", Target.IMAGE)


IMAGE_RULES: tuple[Rule[ImageFacts], ...] = (
    Rule(
        _rule(
            1,
            "image-root-user",
            Severity.HIGH,
            "The image runs as root",
            "Its processes start with root's rights in the container unless every run "
            "remembers --user.",
            "Set USER in the image to an unprivileged user.",
            cis="4.1",
            cis_title="Ensure that a user for the container has been created",
            dockle="CIS-DI-0001",
        ),
        _root,
    ),
    Rule(
        _rule(
            2,
            "image-secret-env",
            Severity.CRITICAL,
            "A secret in the image's environment",
            "Every copy of the image, in every registry and cache, carries it.",
            "Remove it from the image; give it to containers at run time.",
            cis="4.10",
            cis_title="Ensure secrets are not stored in Dockerfiles",
            dockle="CIS-DI-0010",
        ),
        _secret_env,
    ),
    Rule(
        _rule(
            3,
            "image-no-healthcheck",
            Severity.LOW,
            "No health check in the image",
            "The engine cannot tell a hung service from a healthy one.",
            "Add a HEALTHCHECK to the image (or to every run).",
            cis="4.6",
            cis_title="Ensure that HEALTHCHECK instructions have been added to container images",
            dockle="CIS-DI-0006",
        ),
        _healthcheck,
    ),
    Rule(
        _rule(
            4,
            "image-stale",
            Severity.MEDIUM,
            "The image was built too long ago",
            "An image not rebuilt carries every fix its base and packages got since.",
            "Rebuild it regularly (hullcheck patch plans the order).",
            cis="4.4",
            cis_title="Ensure images are scanned and rebuilt to include security patches",
        ),
        _age,
    ),
    Rule(
        _rule(
            5,
            "image-registry-not-allowed",
            Severity.HIGH,
            "The image does not come from an allowed registry",
            "Images from anywhere skip the review and the provenance an allowed registry "
            "stands for.",
            "Push it through an allowed registry, or allow that registry in the policy.",
            cis="4.2",
            cis_title="Ensure that containers use only trusted base images",
        ),
        _registry,
    ),
    Rule(
        _rule(
            6,
            "image-vulnerabilities",
            Severity.HIGH,
            "Vulnerabilities above the policy's threshold",
            "Known vulnerabilities are what attackers try first.",
            "Update the packages (hullcheck scan lists the fixed versions) and rebuild.",
            cis="4.4",
            cis_title="Ensure images are scanned and rebuilt to include security patches",
        ),
        _vulnerabilities,
    ),
    Rule(
        _rule(
            7,
            "image-credential-files",
            Severity.CRITICAL,
            "Credentials in the image's files",
            "A token or key written into a layer stays in that layer for everyone who pulls "
            "the image, even when a later step deletes it.",
            "Use build secrets (RUN --mount=type=secret) or a multi-stage build that copies "
            "only the result; revoke what was exposed.",
            cis="4.10",
            cis_title="Ensure secrets are not stored in Dockerfiles",
            dockle="CIS-DI-0010",
        ),
        _credential_files,
    ),
    Rule(
        _rule(
            8,
            "image-setuid-files",
            Severity.LOW,
            "setuid or setgid files added",
            "Each is a way for any user in the container to run code as its owner (mostly "
            "root). The base layer's own are left to its maintainers.",
            "chmod u-s,g-s what the service does not need.",
            cis="4.8",
            cis_title="Ensure setuid and setgid permissions are removed",
            dockle="CIS-DI-0008",
        ),
        _setuid_files,
    ),
    Rule(
        _rule(
            9,
            "image-world-writable",
            Severity.MEDIUM,
            "World-writable files or directories",
            "Any user in the container can change them: code, configuration, or a directory "
            "to plant files in (without the sticky bit).",
            "Give them to the user that needs them and drop o+w.",
        ),
        _world_writable,
    ),
    Rule(
        _rule(
            10,
            "image-unsigned",
            Severity.HIGH,
            "No signature by a key the policy trusts",
            "Without one, nothing shows the image is the one your pipeline built and not one "
            "pushed over it.",
            "Sign it in the pipeline (hullcheck sign or cosign sign --key) with a key the "
            "policy lists under signatures.keys.",
            cis="4.5",
            cis_title="Ensure Content trust for Docker is Enabled",
        ),
        _unsigned,
    ),
)
READ_LAYERS = frozenset(
    {
        "image-vulnerabilities",
        "image-credential-files",
        "image-setuid-files",
        "image-world-writable",
    }
)
"""The image rules that need the image's content (its packages, its files), not only its
configuration."""
