"""What the gate leaves out: unfixed findings on request, the ignore file, OpenVEX statements.

The ignore file is TOML, one ``[[ignore]]`` table per rule::

    [[ignore]]
    id = "CVE-2023-4911"          # the finding's id, an alias or an advisory id (required)
    package = "glibc"             # binary or source package name, or a purl (optional)
    expires = 2026-12-31          # the rule stops applying after this day (optional)
    reason = "not reachable: no setuid binaries in the image"   # required

An expired rule no longer applies and is reported. OpenVEX documents (v0.2.0, and the older
string forms of ``vulnerability`` and ``products``) suppress a finding with a ``not_affected``
or ``fixed`` statement whose vulnerability names the finding and whose product is the image
(by image ID, repo digest or ``pkg:oci`` purl, optionally narrowed by ``subcomponents``) or
the package itself (by purl).
"""

from __future__ import annotations

import datetime
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hullcheck.errors import UsageError
from hullcheck.model import Finding, FixStatus, Sbom, Suppressed

_VEX_SUPPRESSING = ("not_affected", "fixed")


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """One rule of the ignore file."""

    id: str
    reason: str
    where: str
    """``FILE:N`` (the Nth rule), for reports."""
    package: str | None = None
    expires: datetime.date | None = None

    def applies(self, finding: Finding) -> bool:
        if self.id not in finding.all_ids:
            return False
        return self.package is None or _package_matches(self.package, finding)


@dataclass(frozen=True, slots=True)
class VexStatement:
    vulnerability: frozenset[str]
    products: tuple[str, ...]
    subcomponents: tuple[str, ...]
    status: str
    justification: str
    """Why, in words: the justification, the impact statement or the status notes."""
    where: str
    vex_justification: str | None = None
    """The justification as the specification names it, when given."""


def _package_matches(wanted: str, finding: Finding) -> bool:
    package = finding.package
    if wanted.startswith("pkg:"):
        return purl_matches(wanted, package.purl)
    return wanted in (package.name, package.source_name)


def purl_matches(pattern: str, purl: str) -> bool:
    """Same type, namespace and name; the version too when ``pattern`` has one."""
    from packageurl import PackageURL

    try:
        want, have = PackageURL.from_string(pattern), PackageURL.from_string(purl)
    except ValueError:
        return pattern == purl
    same = (want.type, want.namespace, want.name) == (have.type, have.namespace, have.name)
    return same and (want.version is None or want.version == have.version)


def read_ignore_file(path: str) -> list[IgnoreRule]:
    """Rules of an ignore file; :class:`UsageError` naming the file and rule when malformed."""
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    entries = document.get("ignore", [])
    if not isinstance(entries, list):
        raise UsageError(f"{path}: 'ignore' must be an array of tables ([[ignore]])")
    return [_rule(path, index, entry) for index, entry in enumerate(entries, 1)]


def _rule(path: str, index: int, entry: Any) -> IgnoreRule:
    where = f"{path}:{index}"
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: each rule is a table")
    unknown = set(entry) - {"id", "package", "expires", "reason"}
    if unknown:
        raise UsageError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    rule_id, reason = entry.get("id"), entry.get("reason")
    if not isinstance(rule_id, str) or not rule_id:
        raise UsageError(f"{where}: 'id' is required")
    if not isinstance(reason, str) or not reason.strip():
        raise UsageError(f"{where}: 'reason' is required (say why {rule_id} is accepted)")
    package = entry.get("package")
    if package is not None and not isinstance(package, str):
        raise UsageError(f"{where}: 'package' must be a string")
    expires = entry.get("expires")
    if isinstance(expires, datetime.datetime):
        expires = expires.date()
    if expires is not None and not isinstance(expires, datetime.date):
        raise UsageError(f"{where}: 'expires' must be a date (2026-12-31)")
    return IgnoreRule(rule_id, reason.strip(), where, package, expires)


def read_vex(path: str) -> list[VexStatement]:
    """Statements of an OpenVEX document."""
    try:
        with open(path, "rb") as handle:
            document = json.loads(handle.read())
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("statements"), list):
        raise UsageError(f"{path}: not an OpenVEX document (no statements)")
    return [_statement(path, i, s) for i, s in enumerate(document["statements"], 1)]


def _names(value: Any) -> list[str]:
    """A VEX vulnerability or product: a string, or an object with ``name``/``@id``."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        found = [value.get("name"), value.get("@id"), *(value.get("aliases") or [])]
        identifiers = value.get("identifiers")
        if isinstance(identifiers, dict):
            found.extend(identifiers.values())
        return [str(v) for v in found if isinstance(v, str) and v]
    return []


_VEX_STATUSES = ("not_affected", "affected", "fixed", "under_investigation")
_VEX_JUSTIFICATIONS = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)


def _statement(path: str, index: int, raw: Any) -> VexStatement:
    """One statement, held to the rules of the OpenVEX specification: a known status; a
    ``not_affected`` one gives a justification of the five defined, or an impact
    statement; an ``affected`` one an action statement."""
    where = f"{path}: statement {index}"
    if not isinstance(raw, dict) or not isinstance(raw.get("status"), str):
        raise UsageError(f"{where}: no status")
    status = raw["status"]
    if status not in _VEX_STATUSES:
        raise UsageError(f"{where}: unknown status {status!r}", hint=_one_of(_VEX_STATUSES))
    vulnerability = frozenset(_names(raw.get("vulnerability")))
    if not vulnerability:
        raise UsageError(f"{where}: no vulnerability")
    justification = raw.get("justification")
    impact = raw.get("impact_statement")
    if justification is not None and justification not in _VEX_JUSTIFICATIONS:
        raise UsageError(
            f"{where}: unknown justification {justification!r}", hint=_one_of(_VEX_JUSTIFICATIONS)
        )
    if status == "not_affected" and not justification and not _said(impact):
        raise UsageError(
            f"{where}: a not_affected statement must give a justification or an "
            "impact_statement (OpenVEX specification); it was not applied"
        )
    if status == "affected" and not _said(raw.get("action_statement")):
        raise UsageError(f"{where}: an affected statement must give an action_statement")
    products, subcomponents = [], []
    for product in raw.get("products") or []:
        products.extend(_names(product))
        if isinstance(product, dict):
            for sub in product.get("subcomponents") or []:
                subcomponents.extend(_names(sub))
    return VexStatement(
        vulnerability,
        tuple(products),
        tuple(subcomponents),
        status,
        str(justification or impact or raw.get("status_notes") or status),
        where,
        justification if isinstance(justification, str) else None,
    )


def _said(text: Any) -> bool:
    return isinstance(text, str) and bool(text.strip())


def _one_of(values: tuple[str, ...]) -> str:
    return "one of: " + ", ".join(values)


def _image_names(sbom: Sbom) -> set[str]:
    """The ids a VEX product may name the image by: its ID, tags, repo digests and the
    digests alone (what a ``pkg:oci`` purl's version holds)."""
    if sbom.image is None:
        return {sbom.source.reference}
    names = {sbom.image.id, *sbom.image.repo_tags, *sbom.image.repo_digests}
    names.update(d.split("@", 1)[1] for d in sbom.image.repo_digests if "@" in d)
    return names


def _names_image(product: str, image: set[str]) -> bool:
    """Whether a product names the image: one of its names, or a ``pkg:oci`` purl whose
    version is its ID or a repo digest — compared decoded (``sha256%3A…`` is
    ``sha256:…``), as every purl must be."""
    if product in image:
        return True
    if not product.startswith("pkg:oci/"):
        return False
    from packageurl import PackageURL

    try:
        version = PackageURL.from_string(product).version
    except ValueError:
        return False
    return version is not None and version in image


def _vex_applies(statement: VexStatement, finding: Finding, image: set[str]) -> bool:
    if statement.status not in _VEX_SUPPRESSING or not statement.vulnerability & finding.all_ids:
        return False
    for product in statement.products:
        if _names_image(product, image):
            return not statement.subcomponents or any(
                _package_matches(s, finding) for s in statement.subcomponents
            )
        if product.startswith("pkg:") and purl_matches(product, finding.package.purl):
            return True
    return False


def apply(
    findings: Iterable[Finding],
    sbom: Sbom,
    *,
    ignore_unfixed: bool = False,
    rules: Iterable[IgnoreRule] = (),
    vex: Iterable[VexStatement] = (),
    today: datetime.date | None = None,
) -> tuple[list[Finding], list[Suppressed], list[str]]:
    """Split findings into those that count and those left out; notes on expired rules."""
    today = today or datetime.date.today()
    active, notes = [], []
    for rule in rules:
        if rule.expires is not None and rule.expires < today:
            notes.append(f"{rule.where}: rule for {rule.id} expired on {rule.expires}")
        else:
            active.append(rule)
    statements, image = list(vex), _image_names(sbom)
    used: set[int] = set()
    kept: list[Finding] = []
    left: list[Suppressed] = []
    for finding in findings:
        matched = next((r for r in active if r.applies(finding)), None)
        statement = next((s for s in statements if _vex_applies(s, finding, image)), None)
        if statement is not None:
            used.add(id(statement))
        if matched is not None:
            left.append(Suppressed(finding, matched.reason, matched.where))
        elif statement is not None:
            reason = f"{statement.status}: {statement.justification}"
            left.append(
                Suppressed(
                    finding,
                    reason,
                    statement.where,
                    vex_status=statement.status,
                    vex_justification=statement.vex_justification,
                )
            )
        elif ignore_unfixed and finding.status is FixStatus.UNFIXED:
            left.append(Suppressed(finding, "no fixed version yet", "--ignore-unfixed"))
        else:
            kept.append(finding)
    notes += [
        f"{s.where}: {s.status} for {', '.join(sorted(s.vulnerability))} matched no finding "
        f"of {', '.join(s.products) or 'any product'}"
        for s in statements
        if s.status in _VEX_SUPPRESSING and id(s) not in used
    ]
    return kept, left, notes
