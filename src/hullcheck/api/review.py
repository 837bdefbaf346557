"""The review gate: an image, its Dockerfile and its run configuration checked against one
policy (``review``), a Dockerfile alone (``lint``), an engine and what runs on it (``cis``),
and the rules themselves (``rules``)."""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Sequence
from typing import Any

from hullcheck.api import Gate, judge
from hullcheck.api.sbom import sbom_of_image
from hullcheck.api.signing import signature_verdict
from hullcheck.engine.client import EngineClient, connect, connect_host, tls_files
from hullcheck.errors import PolicyError, UsageError
from hullcheck.model import Host, ImageInfo, Sbom
from hullcheck.model.policy import Review, RuleInfo
from hullcheck.policy import compose, dockerfile
from hullcheck.policy.daemon_rules import DAEMON_RULES, EngineFacts
from hullcheck.policy.dockerfile_rules import DOCKERFILE_RULES
from hullcheck.policy.evaluate import Evaluation
from hullcheck.policy.image_rules import IMAGE_RULES, READ_LAYERS, ImageFacts
from hullcheck.policy.interface import Settings
from hullcheck.policy.layerfiles import AlongTheScan, FileNote, layer_files
from hullcheck.policy.policyfile import Policy, Where, load
from hullcheck.policy.registry import RULE_INFOS, rule_info
from hullcheck.policy.runtime_rules import RUNTIME_RULES, RunConfig
from hullcheck.sources.interface import ImageSource
from hullcheck.sources.registry import open_source
from hullcheck.sources.remote import RegistrySource
from hullcheck.store import Store

DAEMON_CONFIG = "/etc/docker/daemon.json"
"""Read by ``cis`` when the engine is this machine's own (the default socket) and no other
file is named."""
DEFAULT_SOCKETS = ("unix:///var/run/docker.sock", "unix:///run/docker.sock")


def rules() -> tuple[RuleInfo, ...]:
    """Every rule, in id order within each target."""
    return RULE_INFOS


def rule(key: str) -> RuleInfo:
    """One rule by id or name."""
    return rule_info(key)


def _evaluation(policy: Policy) -> Evaluation:
    settings = Settings(
        allowed_registries=policy.registries,
        max_age_days=policy.max_age_days,
        now=time.time(),
    )
    return Evaluation(policy, settings, datetime.date.today())


def lint(path: str, *, policy: str | None = None) -> Review:
    """The Dockerfile rules on one Dockerfile."""
    chosen = load(policy)
    evaluation = _evaluation(chosen)
    evaluation.run(DOCKERFILE_RULES, dockerfile.read(path), path, chosen)
    return evaluation.review()


def review(
    image: str | None = None,
    *,
    dockerfile_path: str | None = None,
    compose_files: Sequence[str] = (),
    policy: str | None = None,
    store: Store | None = None,
    host: Host | None = None,
    platform: str | None = None,
) -> Review:
    """An image (any source ``sbom`` reads), its Dockerfile and its compose files against
    the policy; the image's vulnerabilities are judged when ``store`` holds a database.
    With ``host``, the policy's scopes see that engine's labels (where it is to run)."""
    if image is None and dockerfile_path is None and not compose_files:
        raise UsageError("nothing to review", hint="name an image, --dockerfile or --compose")
    chosen = load(policy)
    where = Where(engine_labels(host) if host is not None else {}, image)
    scoped = chosen.for_where(where)
    evaluation = _evaluation(scoped)
    if dockerfile_path is not None:
        parsed = dockerfile.read(dockerfile_path)
        evaluation.run(DOCKERFILE_RULES, parsed, dockerfile_path, scoped)
    for path in compose_files:
        for service in compose.read(path):
            evaluation.run(RUNTIME_RULES, service, service.subject, scoped)
    if image is not None:
        facts = _image_facts(image, scoped, store, evaluation, platform)
        evaluation.run(IMAGE_RULES, facts, image, scoped)
    return evaluation.review()


def _image_facts(
    reference: str,
    policy: Policy,
    store: Store | None,
    evaluation: Evaluation,
    platform: str | None,
) -> ImageFacts:
    source = open_source(reference, platform=platform)
    if not isinstance(source, ImageSource):
        raise UsageError(f"{reference}: not an image", hint="review reads images, not SBOMs")
    files: list[FileNote] = []
    along = AlongTheScan()  # the file rules' notes, read in the SBOM's pass over the layers

    def read_files(opened: ImageSource, sbom: Sbom) -> None:
        assert sbom.image is not None  # an image source always tells its image
        files.extend(layer_files(opened, sbom.image, store, along=along))

    sbom = sbom_of_image(source, store=store, while_open=read_files, extra=along)
    assert sbom.image is not None
    findings = None
    if store is None:
        evaluation.note("vulnerabilities not checked: no store")
    elif policy.vuln_fail_on is not None:
        report = judge(sbom, store, Gate())
        if report.db is None or report.db.records == 0:
            evaluation.note("vulnerabilities not checked: the database is empty (db update)")
        else:
            findings = report.findings
    signed = None
    if policy.signing_keys:
        names = list(sbom.image.repo_digests)
        if isinstance(source, RegistrySource) and source.top_digest is not None:
            names.insert(0, str(source.ref.with_digest(source.top_digest)))
        signed = signature_verdict(names, policy.signing_keys)
    return ImageFacts(
        reference,
        sbom.image,
        source.settings(),
        findings,
        policy.vuln_fail_on,
        tuple(files),
        signed,
    )


def cis(
    host: Host | None = None,
    *,
    policy: str | None = None,
    images: bool = True,
    daemon_config: str | None = None,
    all_containers: bool = False,
) -> Review:
    """The engine (``host``, or ``DOCKER_HOST``/the local socket) and every running
    container on it, by the daemon and runtime rules; with ``images``, the images they run
    by the image rules that need no layer. ``daemon_config`` names the engine's
    configuration file (default: /etc/docker/daemon.json for the default socket, none
    otherwise). With ``all_containers``, stopped containers too (one restart away from
    running)."""
    chosen = load(policy)
    client = connect_host(host) if host is not None else connect()
    try:
        info = client.info()
        labels = _labels(info)
        scoped = chosen.for_where(Where(labels))
        evaluation = _evaluation(scoped)
        name = host.name if host is not None else client.host
        facts = _engine_facts(client, host, info, name, daemon_config)
        evaluation.run(DAEMON_RULES, facts, facts.subject, scoped)
        listed = client.list_containers()
        running = [c for c in listed if all_containers or c.get("State") == "running"]
        documents = client.containers(running)
        for document in documents:
            subject = f"container {str(document.get('Name') or '').lstrip('/')}"
            image = str((document.get("Config") or {}).get("Image") or "")
            per_image = chosen.for_where(Where(labels, image))
            evaluation.run(RUNTIME_RULES, RunConfig(subject, document), subject, per_image)
        if images:
            _running_images(client, documents, chosen, labels, evaluation)
        return evaluation.review()
    finally:
        client.close()


def engine_labels(host: Host) -> dict[str, str]:
    """The labels an engine was started with (``dockerd --label env=prod``)."""
    client = connect_host(host)
    try:
        return _labels(client.info())
    finally:
        client.close()


def _labels(info: dict[str, Any]) -> dict[str, str]:
    pairs = (str(label).partition("=") for label in info.get("Labels") or [])
    return {name: value for name, _, value in pairs}


def _running_images(
    client: EngineClient,
    documents: list[dict[str, Any]],
    policy: Policy,
    labels: dict[str, str],
    evaluation: Evaluation,
) -> None:
    seen: dict[str, str] = {}
    for document in documents:
        image_id = str(document.get("Image") or "")
        seen.setdefault(image_id, str((document.get("Config") or {}).get("Image") or image_id))
    cheap = tuple(r for r in IMAGE_RULES if r.info.name not in READ_LAYERS)
    for image_id, reference in sorted(seen.items(), key=lambda item: item[1]):
        inspected = client.inspect("image", image_id)
        if inspected is None:
            continue
        facts = ImageFacts(reference, _image_info(inspected), inspected.get("Config") or {})
        evaluation.run(
            cheap, facts, f"image {reference}", policy.for_where(Where(labels, reference))
        )


def _image_info(inspected: dict[str, Any]) -> ImageInfo:
    return ImageInfo(
        id=str(inspected.get("Id")),
        layers=(),
        repo_tags=tuple(inspected.get("RepoTags") or ()),
        repo_digests=tuple(inspected.get("RepoDigests") or ()),
        created=inspected.get("Created"),
    )


def _engine_facts(
    client: EngineClient,
    host: Host | None,
    info: dict[str, Any],
    name: str,
    daemon_config: str | None,
) -> EngineFacts:
    address = client.host
    tls = (
        tls_files(host) is not None
        if host is not None
        else bool(os.environ.get("DOCKER_TLS_VERIFY"))
    )
    bridge = next(
        (n for n in client.networks() if n.get("Name") == "bridge" and n.get("Driver") == "bridge"),
        None,
    )
    config_path = daemon_config
    if config_path is None and address in DEFAULT_SOCKETS and os.path.isfile(DAEMON_CONFIG):
        config_path = DAEMON_CONFIG
    config = None if config_path is None else _daemon_config(config_path)
    return EngineFacts(f"engine {name}", address, tls, info, config, config_path, bridge)


def _daemon_config(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            loaded = json.loads(handle.read(1 << 20))
    except OSError as exc:
        raise PolicyError(
            f"{path}: cannot read the daemon's configuration ({exc.strerror})"
        ) from None
    except ValueError as exc:
        raise PolicyError(f"{path}: not JSON ({exc})") from None
    if not isinstance(loaded, dict):
        raise PolicyError(f"{path}: the daemon's configuration is a JSON object")
    return loaded
