"""``hullcheck prune``: plan, apply and review removals of the fleet's garbage."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from hullcheck import api
from hullcheck.api import fleet as fleet_api
from hullcheck.cli.options import DB_OPTION, check_format, emit, parse_duration
from hullcheck.cli.tables import print_table
from hullcheck.errors import EngineError, UsageError

if TYPE_CHECKING:
    from hullcheck.api.fleet import Outcome, Step
    from hullcheck.model import Action


def prune_command(
    apply: bool = typer.Option(
        False, "--apply", help="Remove what the plan lists (the default only shows the plan)."
    ),
    plan_only: bool = typer.Option(False, "--plan", help="Show what would be removed and why."),
    history: bool = typer.Option(False, "--history", help="Show what earlier prunes did."),
    host: list[str] = typer.Option([], "--host", help="Only these hosts (repeatable)."),
    kind: list[str] = typer.Option(
        [], "--kind", help="container, image, volume or network (repeatable)."
    ),
    older_than: str = typer.Option(
        "7d", "--older-than", help="Only objects stopped or created longer ago than this."
    ),
    label: list[str] = typer.Option(
        [], "--label", help="KEY or KEY=VALUE an object must carry (repeatable)."
    ),
    exclude_label: list[str] = typer.Option(
        [], "--exclude-label", help="KEY or KEY=VALUE that keeps an object (repeatable)."
    ),
    protect_label: list[str] = typer.Option(
        [],
        "--protect-label",
        help="More labels that protect an object (org.hullcheck.protect always does).",
    ),
    keep_image: list[str] = typer.Option(
        [], "--keep-image", help="Tag pattern of images never removed (repeatable)."
    ),
    output_format: str = typer.Option("table", "--format", "-f", help="table or json."),
    db: str | None = DB_OPTION,
) -> None:
    """Remove stopped containers, dangling and unused images, unused volumes and networks,
    from the last sync's inventory. Protected objects, volumes any container mounts and
    images any container uses are never removed; every object is re-checked on its engine
    just before removal, and every attempt is recorded (`prune --history`)."""
    import dataclasses
    import json

    check_format(output_format)
    if sum((apply, plan_only, history)) > 1:
        raise UsageError("choose one of --plan, --apply and --history")
    if history:
        with api.open_store(db) as store:
            actions = fleet_api.prune_history(store)
        if output_format == "json":
            rows = [dataclasses.asdict(a) | {"at": a.at.isoformat()} for a in actions]
            emit(json.dumps(rows, indent=2) + "\n", None)
        else:
            _print_history(actions)
        return
    filters = fleet_api.Filters(
        hosts=tuple(host),
        kinds=tuple(kind),
        older_than=parse_duration(older_than),
        labels=tuple(label),
        exclude_labels=tuple(exclude_label),
        protect_labels=(fleet_api.PROTECT_LABEL, *protect_label),
        keep_images=tuple(keep_image),
    )
    with api.open_store(db) as store:
        steps = fleet_api.prune_plan(store, filters)
        outcomes = fleet_api.prune_apply(store, steps, filters) if apply else None
    if output_format == "json":
        document = {
            "plan": [dataclasses.asdict(s) for s in steps],
            "applied": None
            if outcomes is None
            else [
                {
                    "host": o.step.host,
                    "object_id": o.step.object_id,
                    "outcome": o.outcome,
                    "detail": o.detail,
                }
                for o in outcomes
            ],
        }
        emit(json.dumps(document, indent=2) + "\n", None)
    elif outcomes is None:
        _print_plan(steps)
    else:
        _print_outcomes(outcomes)
    failed = [o for o in outcomes or [] if o.outcome == "failed"]
    if failed:
        raise EngineError(
            f"{len(failed)} removals failed: {failed[0].detail}",
            hint="the others were done; `hullcheck prune --history` shows each attempt",
        )


def _size(size: int | None) -> str:
    return "" if size is None else f"{size / 1024**2:.1f} MiB"


def _print_plan(steps: list[Step]) -> None:
    removed = [s for s in steps if s.kept is None]
    kept = [s for s in steps if s.kept is not None]
    total = sum(s.reclaim_bytes or 0 for s in removed)
    out = print_table(
        ("HOST", "KIND", "OBJECT", "WHY", "FREES"),
        [(s.host, s.kind, s.name, s.reason, _size(s.reclaim_bytes)) for s in removed],
        headline=f"would remove {len(removed)} objects, freeing {_size(total) or '0 MiB'}"
        " of images (run with --apply to remove them)",
        skip_empty=True,
    )
    print_table(
        ("HOST", "KIND", "OBJECT", "KEPT BECAUSE"),
        [(s.host, s.kind, s.name, s.kept or "") for s in kept],
        headline=f"keeping {len(kept)} protected objects" if kept else None,
        out=out,
        skip_empty=True,
    )


def _print_outcomes(outcomes: list[Outcome]) -> None:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nothing to do"
    print_table(
        ("HOST", "KIND", "OBJECT", "OUTCOME", "DETAIL"),
        [(o.step.host, o.step.kind, o.step.name, o.outcome, o.detail or "") for o in outcomes],
        headline=summary,
        skip_empty=True,
    )


def _print_history(actions: list[Action]) -> None:
    print_table(
        ("AT", "BY", "HOST", "KIND", "OBJECT", "OUTCOME", "WHY", "DETAIL"),
        [
            (
                a.at.strftime("%Y-%m-%d %H:%M:%S"),
                a.actor,
                a.host,
                a.kind,
                a.name or a.object_id,
                a.outcome,
                a.reason,
                a.detail or "",
            )
            for a in actions
        ],
        headline=f"{len(actions)} recorded actions",
    )
