"""Derive OSV records for Debian from the security tracker's DSA/DLA list stanzas.

The Debian OSV feed is not in shared/vulndata; these records are derived, field by field,
from the tracker's own stanzas in ``debian-stanzas/`` (copied verbatim from the tracker's
``data/DSA/list`` and ``data/DLA/list``): the advisory id, date, package, the CVEs in braces
as aliases, and one ``[release] - package fixed-version`` line per release, mapped to the
OSV ecosystem ``Debian:N``. Run from this directory: ``python derive_debian_osv.py``.
"""

from __future__ import annotations

import datetime
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
RELEASES = {"squeeze": "6", "wheezy": "7", "jessie": "8"}
HEAD = re.compile(
    r"^\[(?P<date>\d+ \w+ \d{4})\] (?P<id>D[SL]A-\d+-\d+) (?P<package>\S+) - (?P<what>.+)$"
)
FIX = re.compile(r"^\s*\[(?P<release>\w+)\] - (?P<package>\S+) (?P<version>\S+)")


def derive(text: str) -> dict[str, object]:
    lines = text.strip().splitlines()
    head = HEAD.match(lines[0])
    assert head is not None, lines[0]
    cves = re.findall(r"CVE-\d{4}-\d+", text)
    date = datetime.datetime.strptime(head["date"], "%d %b %Y").strftime("%Y-%m-%dT00:00:00Z")
    affected = []
    for line in lines[1:]:
        fix = FIX.match(line)
        if fix:
            affected.append(
                {
                    "package": {
                        "ecosystem": f"Debian:{RELEASES[fix['release']]}",
                        "name": fix["package"],
                        "purl": f"pkg:deb/debian/{fix['package']}?arch=source",
                    },
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [{"introduced": "0"}, {"fixed": fix["version"]}],
                        }
                    ],
                }
            )
    number = head["id"].split("-")[1]
    kind = "dsa" if head["id"].startswith("DSA") else "dla"
    return {
        "schema_version": "1.6.0",
        "id": head["id"],
        "summary": f"{head['package']} - {head['what']}",
        "published": date,
        "modified": date,
        "aliases": cves,
        "affected": affected,
        "references": [
            {
                "type": "ADVISORY",
                "url": f"https://security-tracker.debian.org/tracker/{head['id']}"
                if kind == "dla"
                else f"https://www.debian.org/security/{date[:4]}/dsa-{number}",
            }
        ],
    }


def main() -> None:
    source = os.path.join(HERE, "debian-stanzas")
    target = os.path.join(HERE, "debian-derived")
    os.makedirs(target, exist_ok=True)
    for name in sorted(os.listdir(source)):
        with open(os.path.join(source, name), encoding="utf-8") as handle:
            record = derive(handle.read())
        with open(os.path.join(target, f"{record['id']}.json"), "w", encoding="utf-8") as out:
            json.dump(record, out, indent=2)
            out.write("\n")


if __name__ == "__main__":
    main()
