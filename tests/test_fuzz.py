"""The fuzzing habit: every parser of untrusted input, fed mutations of real inputs.

Each parser answers with a result or with its one documented error — never a traceback, a
hang or memory without bound. Seeds are the real files under ``tests/data`` (their origins
and licences beside them); hypothesis flips, cuts, repeats and splices their bytes, or
replaces parts of their JSON structure. The budget is bounded (``FUZZ_EXAMPLES`` examples a
parser, 120 unless told) so that CI runs it on every landing; raise it to search longer.

A parser written later joins ``PARSERS`` (or gets a test of its own here).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import zipfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hullcheck.errors import HullcheckError, PolicyError
from hullcheck.policy import compose, dockerfile, policyfile
from hullcheck.report.registry import read_sbom
from hullcheck.sbom.catalogers.apk import ApkCataloger
from hullcheck.sbom.catalogers.debcopyright import DebCopyrightCataloger
from hullcheck.sbom.catalogers.dpkg import DpkgCataloger
from hullcheck.sbom.catalogers.golang import GoBinaryCataloger
from hullcheck.sbom.catalogers.interface import Cataloger, FileResult, ParseContext
from hullcheck.sbom.catalogers.java import JavaArchiveCataloger
from hullcheck.sbom.catalogers.npm import NpmCataloger
from hullcheck.sbom.catalogers.osrelease import OsReleaseCataloger
from hullcheck.sbom.catalogers.python import PythonCataloger
from hullcheck.sbom.catalogers.registry import CATALOGERS
from hullcheck.sbom.catalogers.rpm import RpmCataloger
from hullcheck.sbom.walker import _PARSE_FAILURES
from hullcheck.sources.oci import OciDirSource
from hullcheck.vulndb.osv import RecordError, parse_record
from tests.infra.layouts import oci_layout, tar_bytes

DATA = os.path.join(os.path.dirname(__file__), "data")
FIXTURES = os.path.join(DATA, "fixtures")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # CI starts clean every time; a found case is printed, then kept as a test
)


def _read(*parts: str) -> bytes:
    with open(os.path.join(*parts), "rb") as handle:
        return handle.read()


def _jar() -> bytes:
    """A jar as Maven builds them: a manifest and the pom.properties of its artifact."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: Maven\r\n")
        archive.writestr(
            "META-INF/maven/org.apache.commons/commons-lang3/pom.properties",
            "groupId=org.apache.commons\nartifactId=commons-lang3\nversion=3.12.0\n",
        )
    return buffer.getvalue()


# cataloger, the path it reads, a real seed
CATALOGER_SEEDS: list[tuple[type[Cataloger], str, bytes]] = [
    (
        DpkgCataloger,
        "/var/lib/dpkg/status",
        _read(FIXTURES, "dpkg", "ubuntu-18.04_var_lib_dpkg_status")[:20_000],
    ),
    (
        ApkCataloger,
        "/lib/apk/db/installed",
        _read(FIXTURES, "apk", "alpine-3.18_lib_apk_db_installed"),
    ),
    (RpmCataloger, "/var/lib/rpm/Packages", _read(FIXTURES, "rpm", "libuuid_Packages.bdb")),
    (RpmCataloger, "/var/lib/rpm/Packages.db", _read(FIXTURES, "rpm", "sle15-bci_Packages.db")),
    (
        RpmCataloger,
        "/var/lib/rpm/rpmdb.sqlite",
        _read(FIXTURES, "rpm", "cbl-mariner-2.0_rpmdb.sqlite"),
    ),
    (
        PythonCataloger,
        "/usr/lib/python3/dist-packages/flask-3.1.3.dist-info/METADATA",
        _read(FIXTURES, "python", "flask-3.1.3.dist-info", "METADATA"),
    ),
    (
        NpmCataloger,
        "/app/node_modules/semver/package.json",
        _read(FIXTURES, "npm", "node_modules", "semver", "package.json"),
    ),
    (OsReleaseCataloger, "/etc/os-release", b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.0\n'),
    (
        DebCopyrightCataloger,
        "/usr/share/doc/apt/copyright",
        _read(FIXTURES, "dpkg", "debian-12_usr_share_doc_apt_copyright"),
    ),
    (JavaArchiveCataloger, "/app/lib/commons-lang3-3.12.0.jar", _jar()),
]


class Fuzzed(bytes):
    """Bytes that print short: a failing example is shown by its edits, not its kilobytes."""

    def __repr__(self) -> str:
        return f"<{len(self)} bytes: {bytes(self[:48])!r}…>"


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """``seed`` with bytes flipped, cut, repeated or spliced in at random places."""

    def apply(edits: list[tuple[int, int, int, bytes]]) -> bytes:
        data = bytearray(seed)
        for kind, at, length, noise in edits:
            at %= len(data) + 1
            if kind == 0:  # overwrite
                data[at : at + len(noise)] = noise
            elif kind == 1:  # cut
                del data[at : at + length]
            elif kind == 2:  # repeat a slice (lengths and counts that grow)
                data[at:at] = data[at : at + length] * 3
            else:  # insert
                data[at:at] = noise
        return Fuzzed(data)

    edit = st.tuples(
        st.integers(0, 3), st.integers(0, 1 << 30), st.integers(0, 4096), st.binary(max_size=64)
    )
    return st.one_of(
        st.lists(edit, min_size=1, max_size=8).map(apply),
        st.integers(0, len(seed)).map(lambda n: Fuzzed(seed[:n])),  # truncated
    )


def test_every_cataloger_is_fuzzed() -> None:
    fuzzed = {c for c, _, _ in CATALOGER_SEEDS} | {GoBinaryCataloger}  # its own test below
    assert fuzzed == set(CATALOGERS)


@pytest.mark.parametrize(
    ("cataloger", "path", "seed"),
    CATALOGER_SEEDS,
    ids=[f"{c.name}:{p}" for c, p, _ in CATALOGER_SEEDS],
)
def test_catalogers_answer_a_result_or_a_parse_error(
    cataloger: type[Cataloger], path: str, seed: bytes
) -> None:
    context = ParseContext(interesting=lambda _: False)
    assert isinstance(cataloger().parse(path, seed, context), FileResult)  # the seed reads

    @FUZZ
    @given(mutated(seed))
    def fuzz(data: bytes) -> None:
        try:
            result = cataloger().parse(path, data, context)
        except _PARSE_FAILURES:
            return
        assert isinstance(result, FileResult)

    fuzz()


def test_go_binaries_answer_a_result_or_a_parse_error() -> None:
    """No Go binary is kept in the tree: an ELF header and a build-info blob stand in."""
    context = ParseContext(interesting=lambda _: False)
    seed = b"\x7fELF\x02\x01\x01" + b"\0" * 57 + b"\xff Go buildinf:" + b"\0" * 200

    @FUZZ
    @given(mutated(seed))
    def fuzz(data: bytes) -> None:
        try:
            GoBinaryCataloger().parse("/usr/local/bin/app", data, context)
        except _PARSE_FAILURES:
            return

    fuzz()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def replaced(document: Any) -> st.SearchStrategy[Any]:
    """``document`` with values at random places (any depth) replaced by random JSON."""
    paths: list[tuple[Any, ...]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value[:5]):
                walk(item, (*path, index))

    walk(document, ())

    def apply(edits: list[tuple[int, Any]]) -> Any:
        copy = json.loads(json.dumps(document))
        for which, value in edits:
            path = paths[which % len(paths)]
            if not path:
                copy = value
                continue
            target = copy
            try:
                for step in path[:-1]:
                    target = target[step]
                target[path[-1]] = value
            except (KeyError, IndexError, TypeError):
                continue
        return copy

    return st.lists(st.tuples(st.integers(0, 1 << 20), JSON), min_size=1, max_size=4).map(apply)


def _osv_seed() -> dict[str, Any]:
    return json.loads(_read(DATA, "vuln", "npm", "GHSA-35jh-r3h4-6jhm.json"))  # type: ignore[no-any-return]


def test_a_record_error_keeps_its_own_words() -> None:
    """The translation of unexpected shapes leaves the parser's own reasons as they are."""
    withdrawn = {**_osv_seed(), "withdrawn": "2023-01-01T00:00:00Z"}
    with pytest.raises(RecordError, match=r"^GHSA-35jh-r3h4-6jhm: withdrawn on 2023-01-01"):
        parse_record(withdrawn)
    with pytest.raises(RecordError, match=r"^'GHSA-35jh-r3h4-6jhm': malformed \(TypeError"):
        broken = _osv_seed()
        broken["affected"][0]["ranges"][0]["events"] = 1  # the shape the fuzzer found
        parse_record(broken)


def test_osv_records_answer_a_record_or_a_record_error() -> None:
    seed = _osv_seed()
    parse_record(seed)

    @FUZZ
    @given(replaced(seed))
    def fuzz(document: Any) -> None:
        with contextlib.suppress(RecordError):
            parse_record(document)

    fuzz()


@pytest.fixture(scope="module")
def sbom_seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """hullcheck JSON, CycloneDX and SPDX of a real apk database, as hullcheck writes them."""
    from hullcheck.api import generate_sbom
    from hullcheck.report.registry import format_named

    root = tmp_path_factory.mktemp("alpine")
    layer = tar_bytes(
        (
            "file",
            "lib/apk/db/installed",
            _read(FIXTURES, "apk", "alpine-3.18_lib_apk_db_installed"),
        ),
        ("file", "etc/os-release", b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.0\n'),
    )
    sbom = generate_sbom(f"oci-dir:{oci_layout(str(root / 'img'), [layer])}")
    return {
        name: json.loads(format_named(name).render(sbom))
        for name in ("json", "cyclonedx-json", "spdx-json")
    }


@pytest.mark.parametrize("fmt", ["json", "cyclonedx-json", "spdx-json"])
def test_sbom_files_answer_an_sbom_or_a_format_error(
    sbom_seeds: dict[str, dict[str, Any]], fmt: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp("sboms")
    path = str(directory / "input.json")

    def read(data: bytes) -> None:
        with open(path, "wb") as handle:
            handle.write(data)
        with contextlib.suppress(HullcheckError):
            read_sbom(path)

    seed = json.dumps(sbom_seeds[fmt]).encode()
    read(seed)

    @FUZZ
    @given(replaced(sbom_seeds[fmt]))
    def structure(document: Any) -> None:
        read(json.dumps(document).encode())

    @FUZZ
    @given(mutated(seed))
    def text(data: bytes) -> None:
        read(data)

    structure()
    text()


def test_oci_layouts_answer_an_image_or_a_source_error(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Index, manifest and config of a layout replaced by fuzzed JSON (their digests made to
    fit, as a forger would): the source reads an image or refuses the layout."""
    root = str(tmp_path_factory.mktemp("oci") / "img")
    layout = oci_layout(root, [tar_bytes(("file", "etc/hostname", b"fuzz\n"))])
    with open(os.path.join(layout, "index.json")) as handle:
        index = json.load(handle)
    manifest_digest = index["manifests"][0]["digest"]
    manifest_path = os.path.join(layout, "blobs", *manifest_digest.split(":"))
    with open(manifest_path) as handle:
        manifest = json.load(handle)
    config_path = os.path.join(layout, "blobs", *manifest["config"]["digest"].split(":"))
    with open(config_path) as handle:
        config = json.load(handle)
    seed = {"index": index, "manifest": manifest, "config": config}

    def write(documents: Any) -> None:
        if not isinstance(documents, dict):
            documents = {}
        config_bytes = json.dumps(documents.get("config", config)).encode()
        config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
        fuzzed_manifest = documents.get("manifest", manifest)
        if isinstance(fuzzed_manifest, dict) and isinstance(fuzzed_manifest.get("config"), dict):
            fuzzed_manifest["config"]["digest"] = config_digest
            fuzzed_manifest["config"]["size"] = len(config_bytes)
        manifest_bytes = json.dumps(fuzzed_manifest).encode()
        digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
        fuzzed_index = documents.get("index", index)
        if isinstance(fuzzed_index, dict) and isinstance(fuzzed_index.get("manifests"), list):
            for entry in fuzzed_index["manifests"]:
                if isinstance(entry, dict):
                    entry["digest"], entry["size"] = digest, len(manifest_bytes)
        for path, data in (
            (os.path.join(layout, "blobs", *config_digest.split(":")), config_bytes),
            (os.path.join(layout, "blobs", *digest.split(":")), manifest_bytes),
            (os.path.join(layout, "index.json"), json.dumps(fuzzed_index).encode()),
        ):
            with open(path, "wb") as handle:
                handle.write(data)

    write(seed)
    assert OciDirSource(f"{layout}").image().layers

    @FUZZ
    @given(replaced(seed))
    def fuzz(documents: Any) -> None:
        write(documents)
        try:
            with OciDirSource(layout) as source:
                source.image()
        except HullcheckError:
            pass

    fuzz()


REVIEW_SEEDS = [
    ("dockerfile", _read(DATA, "dockerfiles", "HC-DF-011.good")),
    ("dockerfile", _read(DATA, "dockerfiles", "HC-DF-001.good")),
    ("compose", _read(DATA, "compose", "offending.yaml")),
    (
        "policy",
        b"fail-on: high\nregistries: [registry.corp]\nvulnerabilities: {fail-on: critical}\n"
        b"image: {max-age-days: 30}\nrules: {disable: [HC-DF-003], severity: {HC-DF-001: low}}\n"
        b"scopes:\n  - when: {host-label: {env: prod}, image: 'corp/*'}\n    fail-on: low\n"
        b"exceptions:\n  - {rule: HC-RT-001, subject: 'container a*', reason: r, owner: o, "
        b"expires: 2027-01-01}\n",
    ),
]


@pytest.mark.parametrize(("kind", "seed"), REVIEW_SEEDS, ids=[k for k, _ in REVIEW_SEEDS])
def test_review_inputs_answer_a_result_or_a_policy_error(
    kind: str, seed: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Dockerfiles, compose files and policies: what a user hands the review gate."""
    path = os.path.join(os.fspath(tmp_path_factory.mktemp("review")), kind)
    read = {"dockerfile": dockerfile.read, "compose": compose.read, "policy": policyfile.load}[kind]

    def attempt(data: bytes) -> None:
        with open(path, "wb") as handle:
            handle.write(data)
        try:
            read(path)
        except PolicyError:
            return

    attempt(seed)

    @FUZZ
    @given(mutated(seed))
    def fuzz(data: bytes) -> None:
        attempt(data)

    fuzz()
