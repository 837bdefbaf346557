"""``hullcheck audit``: each host's tamper-evident log — its key, verification, export."""

from __future__ import annotations

import datetime
import gc
import json
import logging
import signal
import sys
import time
from typing import Any

import typer

from hullcheck import api
from hullcheck.api import audit as audit_api
from hullcheck.audit import drift
from hullcheck.audit.records import stamp
from hullcheck.cli.options import DB_OPTION, emit, parse_duration
from hullcheck.cli.tables import print_table
from hullcheck.errors import UsageError
from hullcheck.files import write_chunks
from hullcheck.report.text import safe

audit_app = typer.Typer(
    help="The audit trail: one tamper-evident log per host (docs/audit.md).", no_args_is_help=True
)


@audit_app.command("key")
def key_command() -> None:
    """Print the log's public key (made on first use): give it to whoever verifies."""
    typer.echo(str(audit_api.signing_key().verifier()))


@audit_app.command("verify")
def verify_command(
    hosts: list[str] = typer.Option([], "--host", help="A host's log (repeat; default: all)."),
    key: str | None = typer.Option(
        None, "--key", help="The public key to verify with (default: this machine's)."
    ),
    checkpoints: list[str] = typer.Option(
        [],
        "--checkpoint",
        help="Checkpoints published off the host: a note, or a file `audit publish` wrote "
        "(repeat).",
    ),
    export: str | None = typer.Option(
        None, "--export", help="Verify an export file instead of the store."
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Prove each log intact, or name its first bad record (exit 1)."""
    verifier = audit_api.verifier_key(key)
    published = audit_api.Published()
    for path in checkpoints:
        published.read(path)
    if export is not None:
        exported = audit_api.verify_export(export, verifier, published)
        verdicts = {f"{export}: {origin}": verdict for origin, verdict in exported.items()}
    else:
        with api.open_store(db) as store:
            verdicts = audit_api.verify_logs(store, hosts, verifier, published)
    failed = False
    for name, verdict in verdicts.items():
        if verdict.problem is None:
            tail = verdict.records - verdict.covered
            after = f"; {tail} since, not yet checkpointed" if tail else ""
            kept = verdict.retained_from
            before = "before the export's first" if export else "removed by retention"
            removed = f" ({kept} {before}, vouched for by its anchor)" if kept else ""
            typer.echo(
                safe(
                    f"{name}: intact: {verdict.records} records{removed}, {verdict.covered} "
                    f"vouched for by a signed checkpoint{after}"
                )
            )
        else:
            failed = True
            typer.echo(safe(f"{name}: NOT INTACT: {verdict.problem.message}"))
    if failed:
        raise typer.Exit(1)


@audit_app.command("publish")
def publish_command(
    targets: list[str] = typer.Option(
        ..., "--to", help="A file (appended to) or an http(s):// webhook (repeat)."
    ),
    hosts: list[str] = typer.Option([], "--host", help="A host's log (repeat; default: all)."),
    db: str | None = DB_OPTION,
) -> None:
    """Publish each log's newest signed checkpoint off the host, with the proof that it
    extends the one published there before (exit 1 when a target failed)."""
    parsed = [audit_api.Target.parse(t) for t in targets]
    with api.open_store(db) as store:
        problems = audit_api.publish(store, parsed, hosts)
    for problem in problems:
        print(safe(f"hullcheck: error: {problem}"), file=sys.stderr)
    if problems:
        raise typer.Exit(1)


@audit_app.command("witness")
def witness_command(
    published: str = typer.Argument(..., help="A file of published checkpoints."),
    key: str | None = typer.Option(
        None, "--key", help="The logs' public key (default: this machine's)."
    ),
) -> None:
    """Check published checkpoints with only the public key, no records: each signed,
    each log only ever growing, each checkpoint proven to extend the one before (exit 1
    naming the first that does not)."""
    verifier = audit_api.verifier_key(key)
    found = audit_api.witness_file(published, verifier)
    for log_found in found:
        if log_found.problem is None:
            typer.echo(
                safe(
                    f"{log_found.origin}: consistent: {log_found.checkpoints} checkpoints, "
                    f"the newest of {log_found.size} records"
                )
            )
        else:
            typer.echo(safe(f"{log_found.origin}: NOT CONSISTENT: {log_found.problem}"))
    if not found:
        raise UsageError(f"{published}: no published checkpoint")
    if any(w.problem is not None for w in found):
        raise typer.Exit(1)


@audit_app.command("retain")
def retain_command(
    older_than: str = typer.Option(
        ..., "--older-than", help="Remove records older than this (`90d`, `12w`)."
    ),
    hosts: list[str] = typer.Option([], "--host", help="A host's log (repeat; default: all)."),
    actor: str | None = typer.Option(None, "--actor", help="Who asked, for the log's record."),
    db: str | None = DB_OPTION,
) -> None:
    """Remove old records, keeping the signed checkpoint the rest still verifies against
    (a log that does not verify is left whole: exit 1)."""
    span = parse_duration(older_than).total_seconds()
    with api.open_store(db) as store:
        results = audit_api.retain(store, span, hosts, actor)
    for result in results:
        if result.error is not None:
            typer.echo(safe(f"{result.host}: {result.error}"))
        else:
            typer.echo(
                safe(
                    f"{result.host}: {result.removed} records removed; the log starts at "
                    f"record {result.kept_from}"
                )
            )
    if any(r.error is not None for r in results):
        raise typer.Exit(1)


@audit_app.command("watch")
def watch_command(
    hosts: list[str] = typer.Option([], "--host", help="Only this host (repeat; default: all)."),
    until: str | None = typer.Option(
        None, "--until", help="Stop at this moment (`now`, or seconds since the epoch)."
    ),
    rules: str | None = typer.Option(
        None, "--rules", help="Alert rules (YAML): matches are logged, posted or sent to syslog."
    ),
    sensitive: list[str] = typer.Option(
        [], "--sensitive", help="A path whose changes drift flags (repeat; replaces the defaults)."
    ),
    publish_to: list[str] = typer.Option(
        [],
        "--publish",
        help="Publish each log's newest checkpoint here: a file (appended to) or an "
        "http(s):// webhook (repeat).",
    ),
    publish_every: float = typer.Option(
        audit_api.PUBLISH_EVERY, "--publish-every", min=1.0, help="Seconds between publications."
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Record every host's engine events into its log, from where it stopped (foreground;
    with --until, what happened up to then, and exit)."""
    targets = [audit_api.Target.parse(t) for t in publish_to]
    moment = None
    if until == "now":
        moment = time.time_ns()
    elif until is not None:
        try:
            moment = int(float(until) * 1e9)
        except ValueError:
            raise UsageError(f"--until {until!r}: use `now` or seconds since the epoch") from None
    loaded = audit_api.load_rules(rules) if rules is not None else None
    _say_warnings()
    _interrupt_on_sigterm()
    with api.open_store(db) as store:
        if moment is None:
            # what is loaded by now lives as long as the collector: kept out of every
            # garbage collection from here on (a full one would scan it each time, a
            # fifth of the collector's time under a storm)
            gc.freeze()
        try:
            results = audit_api.watch(
                store,
                hosts,
                until=moment,
                rules=loaded,
                sensitive=sensitive or drift.SENSITIVE,
                publish_to=targets,
                publish_every=publish_every,
            )
        except KeyboardInterrupt:  # (stopped: each collector wrote what it took and sealed)
            typer.echo("stopped")
            return
    failed = False
    for host, result in results.items():
        if isinstance(result, str):
            failed = True
            print(safe(f"hullcheck: error: {host}: {result}"), file=sys.stderr)
        else:
            typer.echo(safe(f"{host}: {result} events recorded"))
    if failed:
        raise typer.Exit(2)


def _interrupt_on_sigterm() -> None:
    """SIGTERM (``systemctl stop``, ``docker stop``) stops a foreground service as Ctrl-C
    does: what it holds is written and its log's end sealed before it exits."""

    def interrupt(_signal: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


class _Plain(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return safe(f"hullcheck: warning: {record.getMessage()}")


def _say_warnings() -> None:
    """The collector's warnings (a stream reconnecting, records spooled, a gap found) on
    standard error, escaped: they quote engines and stores."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Plain())
    audit_log = logging.getLogger("hullcheck.audit")
    audit_log.addHandler(handler)
    audit_log.setLevel(logging.WARNING)


@audit_app.command("authz")
def authz_command(
    host: str = typer.Option(..., "--host", help="The configured host this engine is."),
    socket_name: str = typer.Option(
        "hullcheck", "--socket-name", help="dockerd's --authorization-plugin=NAME."
    ),
    directory: str = typer.Option(
        "/run/docker/plugins", "--plugins-dir", help="Where dockerd looks for plugin sockets."
    ),
    policy: str | None = typer.Option(
        None, "--policy", "-p", help="Deny the container creates this policy fails."
    ),
    labels: list[str] = typer.Option(
        [], "--label", help="The engine's label KEY=VALUE for the policy's scopes; repeat."
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Serve Docker's authorization plugin protocol: every API request to this engine is
    recorded with its caller and allowed — unless a --policy fails it (container creates);
    foreground; dockerd fails closed while it is down."""
    _say_warnings()
    _interrupt_on_sigterm()
    pairs = [label.partition("=") for label in labels]
    if any(not equals or not key for key, equals, _ in pairs):
        raise UsageError("--label takes KEY=VALUE")
    with api.open_store(db) as store:
        plugin = audit_api.authz_plugin(
            store,
            socket_name,
            host,
            directory,
            policy=policy,
            labels={key: value for key, _, value in pairs},
        )
        typer.echo(safe(f"listening on {plugin.path}; start dockerd with "
                        f"--authorization-plugin={socket_name}"))  # fmt: skip
        gc.freeze()  # what is loaded lives as long as the plugin: no collection scans it again
        try:
            plugin.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            plugin.close()
            typer.echo(_decided(plugin.decision_times()))


def _decided(times: list[float]) -> str:
    """What the plugin's requests cost it, from asked to answered: said when it stops."""
    if not times:
        return "answered no request"
    ordered = sorted(times)
    p50, p99 = (ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 for q in (0.5, 0.99))
    return (
        f"answered {len(times)} requests: p50 {p50:.2f} ms, p99 {p99:.2f} ms from asked to answered"
    )


rules_app = typer.Typer(help="Alert rules on the audit records.", no_args_is_help=True)
audit_app.add_typer(rules_app, name="rules")


@rules_app.command("test")
def rules_test_command(
    path: str = typer.Argument(..., help="The rules file (YAML)."),
    hosts: list[str] = typer.Option([], "--host", help="Only this host (repeat)."),
    since: str | None = typer.Option(None, "--since", help="Only the last 24h, 7d, …"),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
    db: str | None = DB_OPTION,
) -> None:
    """Dry run: what the rules match in the stored log (nothing is sent)."""
    if fmt not in ("table", "json"):
        raise UsageError(f"--format {fmt!r}: use table or json")
    loaded = audit_api.load_rules(path)
    with api.open_store(db) as store:
        matched = audit_api.test_rules(store, loaded, hosts, _since(since))
    if fmt == "json":
        items = [{"rule": rule.name, "do": list(rule.do), **r.as_dict()} for rule, r in matched]
        emit(json.dumps(items, indent=1) + "\n", None)
        return
    rows = [
        (rule.name, r.time[:19].replace("T", " "), r.host, r.action, r.name or r.object_id[:12],
         ",".join(rule.do))
        for rule, r in matched
    ]  # fmt: skip
    print_table(("RULE", "TIME (UTC)", "HOST", "ACTION", "OBJECT", "DO"), rows)
    typer.echo(f"{len(matched)} matches of {len(loaded.rules)} rules")


@audit_app.command("search")
def search_command(
    hosts: list[str] = typer.Option([], "--host", help="Only this host (repeat)."),
    actions: list[str] = typer.Option(
        [],
        "--action",
        help="Only this action: create, start, exec_start, … or a family: exec (repeat).",
    ),
    images: list[str] = typer.Option(
        [], "--image", help="Only records of containers of this image: a glob, `nginx*` (repeat)."
    ),
    kinds: list[str] = typer.Option(
        [], "--kind", help="container, image, volume, network, daemon, hullcheck (repeat)."
    ),
    objects: list[str] = typer.Option([], "--object", help="A name or ID (repeat)."),
    since: str | None = typer.Option(None, "--since", help="Only the last 24h, 7d, …"),
    limit: int = typer.Option(1000, "--limit", help="At most this many records."),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to a file."),
    db: str | None = DB_OPTION,
) -> None:
    """Recorded records, oldest first, matching every filter given."""
    if fmt not in ("table", "json"):
        raise UsageError(f"--format {fmt!r}: use table or json")
    moment = _since(since)
    with api.open_store(db) as store:
        found = store.audit.search(
            hosts=hosts,
            actions=actions,
            kinds=kinds,
            objects=objects,
            since=moment,
            limit=limit,
            images=images,
        )
    _show(found, fmt, output)


@audit_app.command("timeline")
def timeline_command(
    name: str = typer.Argument(..., help="A container's (or any object's) name or ID."),
    hosts: list[str] = typer.Option([], "--host", help="Only this host (repeat)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
    db: str | None = DB_OPTION,
) -> None:
    """An object's life as recorded, oldest first."""
    if fmt not in ("table", "json"):
        raise UsageError(f"--format {fmt!r}: use table or json")
    with api.open_store(db) as store:
        found = store.audit.search(hosts=hosts, objects=[name])
    if not found:
        raise UsageError(f"{name}: nothing recorded")
    _show(found, fmt, None)


def _since(since: str | None) -> str | None:
    """``--since 24h`` as the earliest record time it lets through."""
    if since is None:
        return None
    return stamp(datetime.datetime.now(datetime.UTC) - parse_duration(since))


def _show(records: list[Any], fmt: str, output: str | None) -> None:
    if fmt == "json":
        emit(json.dumps([r.as_dict() for r in records], indent=1) + "\n", output)
        return
    rows = [
        (
            r.time[:19].replace("T", " "),
            r.host,
            r.kind,
            r.action + (" (reconstructed)" if r.reconstructed else ""),
            r.name or r.object_id[:12],
            r.actor or "",
            _detail(r.context),
        )
        for r in records
    ]
    print_table(("TIME (UTC)", "HOST", "KIND", "ACTION", "OBJECT", "ACTOR", "DETAIL"), rows)


def _detail(context: dict[str, Any]) -> str:
    shown = [
        f"{k}={context[k]}" for k in ("command", "exitCode", "status", "outcome") if k in context
    ]
    if "sensitive" in context:
        shown.append("SENSITIVE " + ",".join(context["sensitive"][:5]))
    counted = ("added", "changed", "deleted", "processes_started")
    shown.extend(f"{kind}={len(context[kind])}" for kind in counted if kind in context)
    if "checks" in context:
        shown.append(f"checks={context['checks']} failed={context.get('failed', 0)}")
    if "gap_from" in context:
        shown.append(f"gap {context['gap_from'][:19]}..{context['gap_to'][:19]}")
    return " ".join(shown)


@audit_app.command("export")
def export_command(
    hosts: list[str] = typer.Option([], "--host", help="A host's log (repeat; default: all)."),
    since: str | None = typer.Option(
        None, "--since", help="Only the last 24h, 7d, … (from the signed checkpoint before)."
    ),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to a file."),
    db: str | None = DB_OPTION,
) -> None:
    """Logs as JSON lines, each with the checkpoints a verifier needs."""
    moment = _since(since)
    with api.open_store(db) as store:
        logged = store.audit.hosts()
        for host in hosts:
            if host not in logged:
                raise UsageError(f"{host}: no audit log")
        lines = (line for host in hosts or logged for line in audit_api.export(store, host, moment))
        write_chunks(output, lines)
