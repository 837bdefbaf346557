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
    where: str


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


def _statement(path: str, index: int, raw: Any) -> VexStatement:
    where = f"{path}: statement {index}"
    if not isinstance(raw, dict) or not isinstance(raw.get("status"), str):
        raise UsageError(f"{where}: no status")
    vulnerability = frozenset(_names(raw.get("vulnerability")))
    if not vulnerability:
        raise UsageError(f"{where}: no vulnerability")
    products, subcomponents = [], []
    for product in raw.get("products") or []:
        products.extend(_names(product))
        if isinstance(product, dict):
            for sub in product.get("subcomponents") or []:
                subcomponents.extend(_names(sub))
    justification = raw.get("justification") or raw.get("impact_statement") or raw["status"]
    return VexStatement(
        vulnerability,
        tuple(products),
        tuple(subcomponents),
        raw["status"],
        str(justification),
        where,
    )


def _image_names(sbom: Sbom) -> set[str]:
    if sbom.image is None:
        return {sbom.source.reference}
    names = {sbom.image.id, *sbom.image.repo_tags, *sbom.image.repo_digests}
    names.update(d.split("@", 1)[1] for d in sbom.image.repo_digests if "@" in d)
    return names


def _vex_applies(statement: VexStatement, finding: Finding, image: set[str]) -> bool:
    if statement.status not in _VEX_SUPPRESSING or not statement.vulnerability & finding.all_ids:
        return False
    for product in statement.products:
        if product in image or (
            product.startswith("pkg:oci/") and any(d in product for d in image if ":" in d)
        ):
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
    kept: list[Finding] = []
    left: list[Suppressed] = []
    for finding in findings:
        matched = next((r for r in active if r.applies(finding)), None)
        statement = next((s for s in statements if _vex_applies(s, finding, image)), None)
        if matched is not None:
            left.append(Suppressed(finding, matched.reason, matched.where))
        elif statement is not None:
            reason = f"{statement.status}: {statement.justification}"
            left.append(Suppressed(finding, reason, statement.where))
        elif ignore_unfixed and finding.status is FixStatus.UNFIXED:
            left.append(Suppressed(finding, "no fixed version yet", "--ignore-unfixed"))
        else:
            kept.append(finding)
    return kept, left, notes
