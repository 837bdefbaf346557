"""The review gate at the engine: a container create request, as dockerd hands it to an
authorization plugin, judged by the policy's runtime rules and its registry rule before the
container exists. A request the policy fails is denied with the rules' ids in the message
the ``docker`` client prints.

``POST …/containers/create`` is judged by every runtime rule and the registry rule, and an
exec (``POST …/containers/ID/exec``) by the privileged rule (``docker exec --privileged``
gives the exec every capability, whatever the container was created with); every other
request is let through (and still recorded by the plugin). Host labels for the policy's
scopes are the ones the plugin was started with. The image rules that need the image itself
(its signature, its last scan) are given its facts by ``image_facts``: the API looks the
image up in the engine, a request of its own that the plugin is asked about too.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hullcheck.model import ImageInfo
from hullcheck.model.policy import Review
from hullcheck.policy.compose import mount_of
from hullcheck.policy.evaluate import Evaluation
from hullcheck.policy.image_rules import IMAGE_RULES, ImageFacts
from hullcheck.policy.interface import Settings
from hullcheck.policy.policyfile import Policy, Where
from hullcheck.policy.runtime_rules import RUNTIME_RULES, RunConfig

_CREATE = re.compile(r"^(?:/v[\d.]+)?/containers/create$")
_EXEC = re.compile(r"^(?:/v[\d.]+)?/containers/([^/]+)/exec$")
EXEC_RULES = tuple(r for r in RUNTIME_RULES if r.info.name == "runtime-privileged")
"""The runtime rules an exec is judged by."""
REGISTRY_RULES = tuple(r for r in IMAGE_RULES if r.info.name == "image-registry-not-allowed")
"""The image rules a create request can be judged by without the image's content."""
IMAGE_GATE_RULES = tuple(
    r for r in IMAGE_RULES if r.info.name in ("image-unsigned", "image-vulnerabilities")
)
"""The image rules judged at the engine with what ``image_facts`` tells of the image."""
ImageFactsOf = Callable[[str], "ImageFacts | None"]
"""The image rules' facts about the image a create names (``None``: not in the engine yet —
``docker run`` pulls it and asks again)."""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    message: str
    """What the client is told when denied: the rules broken, separated by semicolons."""
    rules: tuple[str, ...]
    """The ids of the blocking rules (empty when allowed)."""


def run_config(body: Mapping[str, Any], name: str | None) -> RunConfig:
    """A create request's body as the runtime rules read an inspect document."""
    host = body.get("HostConfig") if isinstance(body.get("HostConfig"), dict) else {}
    assert isinstance(host, dict)
    mounts = [mount_of(bind) for bind in host.get("Binds") or []]
    mounts.extend(_api_mount(m) for m in host.get("Mounts") or [] if isinstance(m, dict))
    document = {
        "HostConfig": host,
        "Config": {"Image": str(body.get("Image") or ""), "User": str(body.get("User") or "")},
        "Mounts": mounts,
    }
    return RunConfig(f"container {name or '(unnamed)'}", document)


def _api_mount(mount: dict[str, Any]) -> dict[str, Any]:
    """A ``HostConfig.Mounts`` entry of the API as an inspect document's mount."""
    options = mount.get("BindOptions") or {}
    return {
        "Type": str(mount.get("Type") or "volume"),
        "Source": str(mount.get("Source") or ""),
        "Destination": str(mount.get("Target") or ""),
        "RW": not mount.get("ReadOnly"),
        "Propagation": str(options.get("Propagation") or ""),
    }


class Admission:
    """Decisions on create requests under one policy and one host's labels."""

    def __init__(
        self,
        policy: Policy,
        labels: Mapping[str, str] | None = None,
        image_facts: ImageFactsOf | None = None,
    ) -> None:
        self.policy = policy
        self.labels = dict(labels or {})
        self.image_facts = image_facts

    def decide(self, method: str, path: str, body: object, name: str | None) -> Decision | None:
        """The decision on one request; ``None`` for requests the policy does not judge."""
        if method != "POST" or not isinstance(body, dict):
            return None
        execing = _EXEC.match(path)
        if execing:
            review = self.review_exec(body, execing.group(1))
        elif _CREATE.match(path):
            review = self.review(body, name)
        else:
            return None
        blocking = review.blocking
        if not blocking:
            return Decision(True, "", ())
        lines = [f"{v.rule} {v.message}" for v in blocking]
        message = f"hullcheck policy ({self.policy.source}): " + "; ".join(lines)
        return Decision(False, message, tuple(dict.fromkeys(v.rule for v in blocking)))

    def review_exec(self, body: Mapping[str, Any], container: str) -> Review:
        run = RunConfig(
            f"exec in container {container}",
            {"HostConfig": {"Privileged": bool(body.get("Privileged"))}, "Config": {}},
        )
        scoped = self.policy.for_where(Where(self.labels))
        evaluation = Evaluation(scoped, Settings(now=time.time()), datetime.date.today())
        evaluation.run(EXEC_RULES, run, run.subject, scoped)
        return evaluation.review()

    def review(self, body: Mapping[str, Any], name: str | None) -> Review:
        run = run_config(body, name)
        image = str(body.get("Image") or "")
        scoped = self.policy.for_where(Where(self.labels, image or None))
        settings = Settings(
            allowed_registries=scoped.registries, max_age_days=scoped.max_age_days, now=time.time()
        )
        evaluation = Evaluation(scoped, settings, datetime.date.today())
        evaluation.run(RUNTIME_RULES, run, run.subject, scoped)
        if image:
            facts = ImageFacts(image, ImageInfo(id="", layers=()), {})
            evaluation.run(REGISTRY_RULES, facts, run.subject, scoped)
            known = self.image_facts(image) if self.image_facts is not None else None
            if known is not None:
                evaluation.run(IMAGE_GATE_RULES, known, run.subject, scoped)
        return evaluation.review()
