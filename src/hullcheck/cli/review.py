"""``hullcheck review``, ``lint``, ``cis`` and ``rules``: the review gate."""

from __future__ import annotations

import sys

import typer

from hullcheck import api
from hullcheck.api import review as review_api
from hullcheck.cli.options import DB_OPTION, PLATFORM_OPTION, check_format, emit
from hullcheck.cli.tables import print_table
from hullcheck.errors import EXIT_FINDINGS
from hullcheck.model.policy import Review
from hullcheck.report import review_format_named
from hullcheck.report.reviews import render_review_table, rules_json
from hullcheck.report.text import safe

FORMAT_OPTION = typer.Option("table", "--format", "-f", help="table, json, sarif or junit.")
OUTPUT_OPTION = typer.Option(None, "--output", "-o", help="Write to this file.")
POLICY_OPTION = typer.Option(
    None, "--policy", "-p", help="Policy file (YAML, docs/policy.md); default: built-in."
)


def _finish(review: Review, output_format: str, output: str | None, *, by_cis: bool) -> None:
    fmt = review_format_named(output_format)
    if fmt.name == "table":
        text = render_review_table(
            review, by_cis=by_cis, color=output is None and sys.stdout.isatty()
        )
    else:
        text = fmt.render(review)
    emit(text, output)
    if output is not None or fmt.name != "table":
        for note in review.notes:
            print(f"note: {safe(note)}", file=sys.stderr)
    if not review.passed:
        print(
            f"hullcheck: review failed: {len(review.blocking)} violations at or above "
            f"{review.fail_on.value}",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_FINDINGS)


def review_command(
    image: str | None = typer.Argument(
        None, help="The image: any reference `hullcheck sbom` reads (docker:, oci-dir:, …)."
    ),
    dockerfile: str | None = typer.Option(None, "--dockerfile", help="Its Dockerfile."),
    compose: list[str] = typer.Option([], "--compose", help="A compose file; repeat for several."),
    host: str | None = typer.Option(
        None, "--host", help="The configured host it is to run on: its labels pick the scopes."
    ),
    policy: str | None = POLICY_OPTION,
    output_format: str = FORMAT_OPTION,
    output: str | None = OUTPUT_OPTION,
    db: str | None = DB_OPTION,
    platform: str | None = PLATFORM_OPTION,
) -> None:
    """Review an image, its Dockerfile and its run configuration against a policy: exit 1
    when a violation at or above the policy's fail-on is not waived."""
    review_format_named(output_format)
    with api.open_store(db) as store:
        target = None if host is None else store.hosts.named([host])[0]
        found = review_api.review(
            image,
            dockerfile_path=dockerfile,
            compose_files=tuple(compose),
            policy=policy,
            store=store,
            host=target,
            platform=platform,
        )
    _finish(found, output_format, output, by_cis=False)


def lint_command(
    dockerfile: str = typer.Argument(..., help="The Dockerfile."),
    policy: str | None = POLICY_OPTION,
    output_format: str = FORMAT_OPTION,
    output: str | None = OUTPUT_OPTION,
) -> None:
    """Check a Dockerfile by the Dockerfile rules alone."""
    review_format_named(output_format)
    _finish(review_api.lint(dockerfile, policy=policy), output_format, output, by_cis=False)


def cis_command(
    host: str | None = typer.Option(
        None, "--host", help="A configured host (hullcheck hosts); default: DOCKER_HOST."
    ),
    policy: str | None = POLICY_OPTION,
    daemon_config: str | None = typer.Option(
        None,
        "--daemon-config",
        help="The engine's daemon.json (default: /etc/docker/daemon.json for the local "
        "default socket).",
    ),
    all_containers: bool = typer.Option(
        False, "--all", "-a", help="Stopped containers too, not only running ones."
    ),
    output_format: str = FORMAT_OPTION,
    output: str | None = OUTPUT_OPTION,
    db: str | None = DB_OPTION,
) -> None:
    """Check an engine and its running containers (CIS Docker Benchmark sections 2, 4, 5)."""
    review_format_named(output_format)
    chosen = None
    if host is not None:
        with api.open_store(db) as store:
            (chosen,) = store.hosts.named([host])
    found = review_api.cis(
        chosen, policy=policy, daemon_config=daemon_config, all_containers=all_containers
    )
    _finish(found, output_format, output, by_cis=True)


def rules_command(
    rule: str | None = typer.Argument(None, help="A rule's id or name: its whole description."),
    output_format: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """Every review rule: id, severity, CIS recommendation, title."""
    check_format(output_format)
    chosen = review_api.rules() if rule is None else (review_api.rule(rule),)
    if output_format == "json":
        emit(rules_json(chosen), None)
        return
    if rule is not None:
        info = chosen[0]
        lines = [
            f"{info.id} {info.name} ({info.target.value}, {info.severity.value})",
            info.title,
            f"why: {info.rationale}",
            f"fix: {info.fix}",
        ]
        if info.cis:
            lines.append(f"CIS Docker Benchmark {info.cis}: {info.cis_title}")
        lines += [f"hadolint: {info.hadolint}"] if info.hadolint else []
        lines += [f"Dockle: {info.dockle}"] if info.dockle else []
        print("\n".join(safe(line) for line in lines))
        return
    print_table(
        ("ID", "NAME", "TARGET", "SEVERITY", "CIS", "TITLE"),
        [(i.id, i.name, i.target.value, i.severity.value, i.cis or "", i.title) for i in chosen],
        headline=f"{len(chosen)} rules",
    )
