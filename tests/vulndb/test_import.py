"""Imports: malformed and withdrawn records are skipped and counted; one transaction."""

from __future__ import annotations

import json
import os
import zipfile

import pytest

from hullcheck import api
from hullcheck.errors import FeedError
from hullcheck.store import Store
from tests.infra.vulndata import all_entries, vuln_path


def _real(name: str) -> dict[str, object]:
    with open(vuln_path("npm", name)) as handle:
        return json.load(handle)  # type: ignore[no-any-return]


def test_broken_records_are_skipped_with_reasons(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Real records damaged the ways feeds get damaged; the good ones still land."""
    good = _real("GHSA-35jh-r3h4-6jhm.json")
    no_affected = {k: v for k, v in _real("GHSA-rv95-896h-c2vc.json").items() if k != "affected"}
    bad_version = _real("GHSA-xvch-5gv4-984h.json")
    bad_version["affected"][0]["ranges"][0]["events"][1]["fixed"] = "not..a..version"  # type: ignore[index]
    unknown = _real("GHSA-whgm-jr23-g3j9.json")
    unknown["affected"][0]["package"]["ecosystem"] = "Hackage"  # type: ignore[index]
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("good.json", json.dumps(good))
        out.writestr("no-affected.json", json.dumps(no_affected))
        out.writestr("bad-version.json", json.dumps(bad_version))
        out.writestr("unknown.json", json.dumps(unknown))
        out.writestr("truncated.json", json.dumps(good)[:100])
        out.writestr("list.json", json.dumps([_real("GHSA-rv95-896h-c2vc.json")]))
    result = api.import_vulnerabilities(store, str(archive))
    assert result.records == 3  # good, list.json, and minimist's entry that still reads
    assert result.skipped == 3
    assert dict(result.reasons) == {"malformed": 1, "unsupported ecosystem": 1, "unreadable": 1}
    assert result.dropped_entries == 1  # minimist's entry with the unreadable version
    assert store.vulns.snapshot().records == 3
    minimist = all_entries(store, "npm", "minimist", "semver")
    assert [a.ranges[0].events for _, a in minimist] == [(("introduced", "0"), ("fixed", "0.2.4"))]


def test_reimport_replaces_and_drops_withdrawn(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "records"
    folder.mkdir()
    record = _real("GHSA-35jh-r3h4-6jhm.json")
    (folder / "a.json").write_text(json.dumps(record))
    api.import_vulnerabilities(store, str(folder))
    assert store.vulns.snapshot().records == 1
    record["withdrawn"] = "2026-01-01T00:00:00Z"
    (folder / "a.json").write_text(json.dumps(record))
    result = api.import_vulnerabilities(store, str(folder))
    assert (result.records, dict(result.reasons)) == (0, {"withdrawn": 1})
    assert store.vulns.snapshot().records == 0


def test_not_a_zip_and_missing_path(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "all.zip"
    fake.write_bytes(b"<html>proxy login</html>")
    with pytest.raises(FeedError, match="all.zip: not a zip archive"):
        api.import_vulnerabilities(store, str(fake))
    with pytest.raises(FeedError, match="no such file"):
        api.import_vulnerabilities(store, os.fspath(tmp_path / "missing"))


def test_yaml_records_are_read(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import yaml

    path = tmp_path / "GHSA-35jh-r3h4-6jhm.yaml"
    path.write_text(yaml.safe_dump(_real("GHSA-35jh-r3h4-6jhm.json")))
    assert api.import_vulnerabilities(store, str(path)).records == 1
