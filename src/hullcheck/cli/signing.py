"""``hullcheck generate-key-pair``, ``sign`` and ``verify``: cosign's key-based signatures of
images in registries. The key's password comes from ``COSIGN_PASSWORD`` (as for cosign) or,
on a terminal, from a prompt."""

from __future__ import annotations

import json
import os
import sys

import typer

from hullcheck.api import signing as signing_api
from hullcheck.cli.options import check_format, emit
from hullcheck.cli.tables import print_table
from hullcheck.errors import EXIT_FINDINGS, UsageError
from hullcheck.report.text import safe

PASSWORD_VARIABLE = "COSIGN_PASSWORD"


def _password(*, confirm: bool) -> bytes:
    told = os.environ.get(PASSWORD_VARIABLE)
    if told is not None:
        return told.encode()
    if not sys.stdin.isatty():
        raise UsageError(
            "no password for the key", hint=f"set {PASSWORD_VARIABLE} (empty for none)"
        )
    answer: str = typer.prompt(
        "Password for the key", hide_input=True, confirmation_prompt=confirm, default=""
    )
    return answer.encode()


def generate_key_pair_command(
    prefix: str = typer.Option("cosign", "--prefix", help="Writes PREFIX.key and PREFIX.pub."),
) -> None:
    """Make an ECDSA P-256 key pair: PREFIX.key in cosign's encrypted format (0600) and
    PREFIX.pub; cosign reads both."""
    private, public = signing_api.generate_key_pair(prefix, _password(confirm=True))
    print(f"Private key written to {safe(private)}", file=sys.stderr)
    print(f"Public key written to {safe(public)}", file=sys.stderr)


def sign_command(
    image: str = typer.Argument(..., help="HOST/REPO:TAG (or @sha256:…) in a registry."),
    key: str = typer.Option(..., "--key", help="The private key (cosign's format or PEM)."),
    legacy: bool = typer.Option(
        False,
        "--legacy",
        help="The .sig tag of cosign 1 and 2 instead of cosign 3's bundle referrer.",
    ),
) -> None:
    """Sign an image in its registry, as cosign does."""
    done = signing_api.sign_image(image, key, _password(confirm=False), legacy=legacy)
    print(
        f"signed {safe(done.reference)} ({done.digest}) with {done.fingerprint}: "
        f"{safe(done.location)}",
        file=sys.stderr,
    )


def verify_command(
    image: str = typer.Argument(..., help="HOST/REPO:TAG (or @sha256:…) in a registry."),
    key: list[str] = typer.Option(
        [], "--key", help="A public key (PEM) or certificate; repeat for several."
    ),
    output_format: str = typer.Option("table", "--format", "-f", help="table or json."),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Check an image's cosign signatures (the .sig tag and cosign 3 bundles) against the keys:
    exit 1 when none of them verifies."""
    check_format(output_format)
    found = signing_api.verify_image(image, key)
    if output_format == "json":
        document = {
            "format": "hullcheck-verify/1",
            "reference": found.reference,
            "digest": found.digest,
            "verified": found.ok,
            "truncated": found.truncated,
            "signatures": [
                {
                    "kind": s.kind,
                    "location": s.location,
                    "signer": s.signer,
                    "fingerprint": s.fingerprint,
                    "result": s.reason,
                }
                for s in found.signatures
            ],
        }
        emit(json.dumps(document, indent=2) + "\n", output)
    else:
        print_table(
            ("KIND", "WHERE", "SIGNED BY", "RESULT"),
            [(s.kind, s.location, s.signer or "-", s.reason) for s in found.signatures],
            headline=f"{found.reference}: {len(found.signatures)} signatures",
        )
    if not found.ok:
        print(
            f"hullcheck: verify failed: no signature of {safe(found.reference)} by the keys given",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_FINDINGS)
