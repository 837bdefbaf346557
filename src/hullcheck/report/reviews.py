"""A review's outputs: the human table (grouped by CIS section for ``cis``), hullcheck JSON
(``hullcheck-review/1``), SARIF 2.1.0 (one rule per review rule, one result per violation,
waived ones as suppressed results) and JUnit XML (a test case per rule and subject)."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from hullcheck.model.policy import Review, RuleInfo, Violation
from hullcheck.model.vuln import Severity
from hullcheck.report.sarif import sarif_document
from hullcheck.report.text import Cell, render_table, safe

_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
_LEVELS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning"}
_SCORES = {Severity.CRITICAL: 9.5, Severity.HIGH: 8.0, Severity.MEDIUM: 5.5, Severity.LOW: 3.0}
CIS_SECTIONS = {
    "2": "Docker daemon configuration",
    "4": "Container images and build file",
    "5": "Container runtime",
}
DOCS = "https://github.com/hullcheck/hullcheck/blob/main/docs/rules.md"


def _ordered(review: Review) -> list[Violation]:
    return sorted(
        review.violations, key=lambda v: (-v.severity.rank, v.rule, v.subject, v.line or 0)
    )


def _verdict(review: Review) -> str:
    blocking = len(review.blocking)
    waived = len([v for v in review.violations if v.waiver is not None])
    state = "FAILED" if blocking else "passed"
    return (
        f"review {state}: {blocking} violations at or above {review.fail_on.value}, "
        f"{len(review.violations)} in all ({waived} waived), {len(review.rules)} rules on "
        f"{len(review.subjects)} subjects"
    )


def render_review_table(
    review: Review, *, by_cis: bool = False, width: int | None = None, color: bool = False
) -> str:
    rules = {r.id: r for r in review.rules}
    out: list[str] = []
    groups: dict[str, list[Violation]] = {}
    for violation in _ordered(review):
        info = rules.get(violation.rule)
        key = (info.cis or "").split(".")[0] if by_cis and info is not None else ""
        groups.setdefault(key, []).append(violation)
    for key in sorted(groups, key=lambda k: (k == "", k)):
        if by_cis:
            title = CIS_SECTIONS.get(key, "beyond the CIS benchmark")
            out.append(f"{key or '-'} {title}\n" if key else f"{title}\n")
        rows: list[tuple[Cell, ...]] = []
        for v in groups[key]:
            info = rules.get(v.rule)
            where = v.subject + (f":{v.line}" if v.line and v.path == v.subject else "")
            if v.line and v.path and v.path != v.subject:
                where += f" ({v.path}:{v.line})"
            severity = v.severity.value + (" (waived)" if v.waiver else "")
            rows.append(
                (
                    v.rule,
                    (severity, _STYLES.get(v.severity.value, "")),
                    info.cis if info is not None and info.cis else "",
                    where,
                    v.message,
                )
            )
        headers = ("RULE", "SEVERITY", "CIS", "WHERE", "FINDING")
        out.append(render_table(headers, rows, width=width, color=color))
    out.extend(f"note: {safe(note)}\n" for note in review.notes)
    out.append(safe(_verdict(review)) + "\n")
    return "".join(out)


def _rule_json(info: RuleInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "target": info.target.value,
        "severity": info.severity.value,
        "title": info.title,
        "rationale": info.rationale,
        "fix": info.fix,
        "cis": info.cis,
        "cis_title": info.cis_title,
        "hadolint": info.hadolint,
        "dockle": info.dockle,
        "version": info.version,
    }


def rules_json(rules: tuple[RuleInfo, ...]) -> str:
    return json.dumps([_rule_json(r) for r in rules], indent=2, ensure_ascii=False) + "\n"


def render_review_json(review: Review) -> str:
    document = {
        "schema": "hullcheck-review/1",
        "passed": review.passed,
        "fail_on": review.fail_on.value,
        "subjects": list(review.subjects),
        "violations": [
            {
                "rule": v.rule,
                "severity": v.severity.value,
                "subject": v.subject,
                "message": v.message,
                "path": v.path,
                "line": v.line,
                "blocking": v in review.blocking,
                "waiver": None
                if v.waiver is None
                else {
                    "reason": v.waiver.reason,
                    "owner": v.waiver.owner,
                    "expires": v.waiver.expires.isoformat(),
                },
            }
            for v in _ordered(review)
        ],
        "rules": [_rule_json(r) for r in review.rules],
        "notes": list(review.notes),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _sarif_rule(info: RuleInfo) -> dict[str, Any]:
    refs = [f"CIS Docker Benchmark {info.cis}: {info.cis_title}"] if info.cis else []
    refs += [f"hadolint {info.hadolint}"] if info.hadolint else []
    refs += [f"Dockle {info.dockle}"] if info.dockle else []
    text = f"{info.title}. {info.rationale} Fix: {info.fix}"
    markdown = f"**{info.title}**\n\n{info.rationale}\n\n**Fix:** {info.fix}\n\n" + "".join(
        f"- {ref}\n" for ref in refs
    )
    return {
        "id": info.id,
        "name": "".join(part.title() for part in info.name.split("-")),
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.rationale},
        "help": {"text": text, "markdown": markdown},
        "helpUri": f"{DOCS}#{info.id.lower()}",
        "defaultConfiguration": {"level": _LEVELS.get(info.severity, "note")},
        "properties": {
            "security-severity": f"{_SCORES.get(info.severity, 1.0):.1f}",
            "tags": ["security", info.target.value] + ([f"CIS-{info.cis}"] if info.cis else []),
        },
    }


def _sarif_result(v: Violation, index: dict[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": v.path or v.subject}}
    if v.line:
        location["region"] = {"startLine": v.line}
    result: dict[str, Any] = {
        "ruleId": v.rule,
        "ruleIndex": index[v.rule],
        "level": _LEVELS.get(v.severity, "note"),
        "message": {"text": f"{v.subject}: {v.message}"},
        "locations": [{"physicalLocation": location}],
        "properties": {"severity": v.severity.value, "subject": v.subject},
    }
    if v.waiver is not None:
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{v.waiver.reason} (owner {v.waiver.owner}, expires "
                f"{v.waiver.expires.isoformat()})",
            }
        ]
    return result


def render_review_sarif(review: Review) -> str:
    rules = list(review.rules)
    index = {r.id: n for n, r in enumerate(rules)}
    return sarif_document(
        [_sarif_rule(r) for r in rules], [_sarif_result(v, index) for v in _ordered(review)]
    )


def render_review_junit(review: Review) -> str:
    """One test suite per subject, one test case per rule that ran on it: failed when it
    found a blocking violation, skipped when waived."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    suites = []
    for subject in review.subjects:
        cases = []
        failures = skipped = 0
        ran = set(review.ran.get(subject, ()))
        for info in review.rules:
            if info.id not in ran:
                continue
            found = [v for v in review.violations if v.subject == subject and v.rule == info.id]
            name = quoteattr(f"{info.id} {info.name}")
            body = ""
            blocking = [v for v in found if v in review.blocking]
            if blocking:
                failures += 1
                text = "\n".join(_junit_line(v) for v in blocking)
                body = (
                    f"<failure type={quoteattr(blocking[0].severity.value)} "
                    f"message={quoteattr(info.title)}>{escape(text)}</failure>"
                )
            elif found and all(v.waiver is not None for v in found):
                skipped += 1
                waiver = found[0].waiver
                assert waiver is not None
                body = f"<skipped message={quoteattr('waived: ' + waiver.reason)}/>"
            elif found:
                said = "\n".join(_junit_line(v) for v in found)
                body = f"<system-out>{escape(said)}</system-out>"
            cases.append(
                f"    <testcase classname={quoteattr(subject)} name={name}>{body}</testcase>"
            )
        suites.append(
            f'  <testsuite name={quoteattr(subject)} tests="{len(cases)}" '
            f'failures="{failures}" skipped="{skipped}" errors="0">\n'
            + "\n".join(cases)
            + "\n  </testsuite>"
        )
    blocking_total = len({(v.subject, v.rule) for v in review.blocking})
    lines.append(f'<testsuites name="hullcheck review" failures="{blocking_total}">')
    lines.extend(suites)
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


def _junit_line(v: Violation) -> str:
    where = f"{v.path}:{v.line}: " if v.path and v.line else ""
    return f"{where}{v.severity.value}: {v.message}"


def rules_markdown(rules: tuple[RuleInfo, ...]) -> str:
    """docs/rules.md: every rule, grouped by target, with its references and the coverage
    of each CIS section (``tests/policy/test_docs.py`` keeps the file equal to this)."""
    out = [
        "# Review rules\n\n",
        "Every rule `hullcheck review`, `lint` and `cis` apply, generated from the rules "
        "themselves (`hullcheck rules` prints the same). A policy names a rule by its id or "
        "its name (docs/policy.md). CIS numbers are recommendations of the CIS Docker "
        "Benchmark v1.8.0 (its section 2 numbers one more than v1.6.0's from 2.7 on, where "
        "v1.8.0 added 2.7, devicemapper); titles are abridged, explanations are ours.\n\n",
        "| CIS section | recommendations checked |\n|---|---|\n",
    ]
    for section, title in CIS_SECTIONS.items():
        numbers = sorted(
            {r.cis for r in rules if r.cis and r.cis.split(".")[0] == section},
            key=lambda n: [int(p) for p in n.split(".")],
        )
        out.append(f"| {section} {title} | {', '.join(numbers)} |\n")
    titles = {
        "dockerfile": "Dockerfile",
        "image": "Image",
        "runtime": "Runtime (containers, compose services)",
        "daemon": "Daemon (engine)",
    }
    for target, heading in titles.items():
        out.append(f"\n## {heading}\n")
        for info in (r for r in rules if r.target.value == target):
            out.append(f"\n### {info.id}\n\n")
            out.append(
                f"`{info.name}` — **{info.title}** (default severity {info.severity.value})\n\n"
            )
            out.append(f"{info.rationale}\n\n**Fix:** {info.fix}\n\n")
            refs = []
            if info.cis:
                refs.append(f"CIS {info.cis} ({info.cis_title})")
            if info.hadolint:
                refs.append(f"hadolint {info.hadolint}")
            if info.dockle:
                refs.append(f"Dockle {info.dockle}")
            if refs:
                out.append("Corresponds to: " + "; ".join(refs) + ".\n")
    return "".join(out)
