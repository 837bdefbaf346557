"""Severity of a record: CVSS vectors scored with the ``cvss`` library, or the database's own.

A distributor's own rating of a package (Ubuntu priority, Debian urgency, GHSA severity, the
Red Hat rating in AlmaLinux summaries) wins over CVSS: it judges the build that is installed.
Where there is none, the highest CVSS version present (v4, v3, v2) gives the severity through
the standard qualitative scale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hullcheck.model import Severity

_WORDS = {
    "critical": Severity.CRITICAL,
    "important": Severity.HIGH,
    "high": Severity.HIGH,
    "moderate": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "negligible": Severity.NEGLIGIBLE,
    "unimportant": Severity.NEGLIGIBLE,
    "not yet assigned": Severity.UNKNOWN,
    "unknown": Severity.UNKNOWN,
}
_SUMMARY_RATING = re.compile(r"^(Critical|Important|Moderate|Low):", re.IGNORECASE)
_CVSS_TYPES = ("CVSS_V4", "CVSS_V3", "CVSS_V2")


@dataclass(frozen=True, slots=True)
class Rating:
    """A severity and, when it comes from CVSS, the score and vector behind it."""

    severity: Severity
    score: float | None = None
    vector: str | None = None
    own: Severity | None = None
    """The database's own rating, when it gives one (wins over the CVSS severity)."""

    @property
    def effective(self) -> Severity:
        return self.own if self.own is not None else self.severity


UNRATED = Rating(Severity.UNKNOWN)


def word(text: Any) -> Severity | None:
    """``HIGH``, ``Important``, ``medium`` … → a severity; ``None`` for anything else."""
    if not isinstance(text, str):
        return None
    return _WORDS.get(text.strip().lower())


def score_vector(kind: str, vector: str) -> Rating | None:
    """Score one CVSS vector; ``None`` when the library rejects it."""
    try:
        if kind == "CVSS_V4":
            from cvss import CVSS4

            score = float(CVSS4(vector).base_score)
        elif kind == "CVSS_V3":
            from cvss import CVSS3

            score = float(CVSS3(vector).base_score)
        else:
            from cvss import CVSS2

            score = float(CVSS2(vector).base_score)
    except Exception:  # the cvss library raises several unrelated types for bad vectors
        return None
    return Rating(_scale(score, kind), score, vector)


def _scale(score: float, kind: str) -> Severity:
    if kind == "CVSS_V2":
        if score >= 7.0:
            return Severity.HIGH
        return Severity.MEDIUM if score >= 4.0 else Severity.LOW
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW if score > 0 else Severity.NEGLIGIBLE


def _best_cvss(entries: list[Any]) -> Rating | None:
    vectors = [
        (e["type"], e["score"])
        for e in entries
        if isinstance(e, dict) and e.get("type") in _CVSS_TYPES and isinstance(e.get("score"), str)
    ]
    for kind in _CVSS_TYPES:
        for found_kind, vector in vectors:
            if found_kind == kind:
                rating = score_vector(kind, vector)
                if rating is not None:
                    return rating
    return None


def record_rating(document: dict[str, Any]) -> Rating:
    """The rating of a whole record."""
    entries = list(document.get("severity") or [])
    specific = document.get("database_specific")
    own = None
    if isinstance(specific, dict):
        own = word(specific.get("severity"))
        for cve in (specific.get("cves_map") or {}).get("cves") or []:
            if isinstance(cve, dict):
                entries.extend(cve.get("severity") or [])
    for entry in entries:
        if isinstance(entry, dict) and entry.get("type") == "Ubuntu":
            own = own or word(entry.get("score"))
    summary = document.get("summary")
    if own is None and isinstance(summary, str):
        match = _SUMMARY_RATING.match(summary)
        own = word(match.group(1)) if match else None
    cvss = _best_cvss(entries) or UNRATED
    return Rating(cvss.severity, cvss.score, cvss.vector, own=own)


def entry_rating(entry: dict[str, Any]) -> Severity | None:
    """A rating an ``affected`` entry gives its package (Ubuntu priority, Debian urgency)."""
    for field in ("ecosystem_specific", "database_specific"):
        specific = entry.get(field)
        if isinstance(specific, dict):
            for key in ("ubuntu_priority", "severity", "urgency"):
                found = word(specific.get(key))
                if found is not None:
                    return found
    return None
