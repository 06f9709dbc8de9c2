"""``sprocket-infra``: operator commands: Vault access, secrets bootstrap, ``verify``, backup and restore.

Commands stay thin: they parse options, call plain functions, and render the result as a rich table for
humans or JSON (``--json``) for scripts. The ``secrets`` commands load the environment's config file, the
same one synth reads, because which secrets an environment needs follows from it (an AWS bucket, an
external PostgreSQL). Expected failures (Vault unreachable, token refused, unreadable source file, bad
environment name or config file) print one ``error:`` line and exit 1 without a traceback. No secret
value is ever printed: reports carry paths, keys, statuses and sources only, and every error line is
additionally scrubbed of the values and token in play. Pretty exceptions are off so that even an
unexpected crash can't render local variables.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from sprocket_infra.app import load_inputs
from sprocket_infra.config import CONFIG_DIR, ConfigError, load_environment
from sprocket_infra.ops.alert_webhook import AlertError, alert_payload, send_alert, webhook_url
from sprocket_infra.ops.backups import backup_prefix, deliver, fetch, require_one
from sprocket_infra.ops.docker_api import DEFAULT_HOST as DEFAULT_DOCKER_HOST
from sprocket_infra.ops.docker_api import DockerApiError, DockerClient
from sprocket_infra.ops.expected import expected_state
from sprocket_infra.ops.object_store import Bucket, ObjectStoreError
from sprocket_infra.ops.probes import Target
from sprocket_infra.ops.results import CheckResult, Outcome, VerifyReport
from sprocket_infra.ops.vault_snapshot import restore_snapshot, save_snapshot
from sprocket_infra.ops.verify import Check, VerifyOptions, plan_checks, run_checks
from sprocket_infra.ops.volume_backup import VolumeBackupError, backup_volume, restore_volume
from sprocket_infra.secrets.bootstrap import Report, Status, bootstrap, check
from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.secrets.manifest import SecretManifest
from sprocket_infra.secrets.sources import SourceError, collect_values
from sprocket_infra.vault.access import check_env_name, policy_hcl, vault_access
from sprocket_infra.vault.admin import VAULT_ADMIN
from sprocket_infra.vault.admin_bootstrap import bootstrap_admin, check_credentials_target, vault_admin_policy
from sprocket_infra.vault.apply import Change, apply_access
from sprocket_infra.vault.client import VaultKvStore, VaultOperationError, connect

app = typer.Typer(
    name="sprocket-infra",
    help="Operator commands for Sprocket's infrastructure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
secrets_app = typer.Typer(help="Externally provided secrets: copy them into Vault, check they are there.")
vault_app = typer.Typer(
    help="Vault mounts and policies, from the description in sprocket_infra.vault.access."
)
app.add_typer(secrets_app, name="secrets", no_args_is_help=True)
app.add_typer(vault_app, name="vault", no_args_is_help=True)

EnvOption = Annotated[
    str, typer.Option("--env", help="Environment whose Vault paths to use.", envvar="SPROCKET_ENV")
]
ConfigDirOption = Annotated[
    Path | None,
    typer.Option(
        "--config-dir",
        help="Directory holding <env>.yaml (default: the repository's config/), as for synth.",
        envvar="SPROCKET_CONFIG_DIR",
    ),
]
VaultAddrOption = Annotated[
    str | None,
    typer.Option(
        "--vault-addr", help="Vault/OpenBao address, e.g. http://127.0.0.1:8200.", envvar="VAULT_ADDR"
    ),
]
VaultTokenOption = Annotated[
    str | None,
    typer.Option(
        "--vault-token", help="Vault token (prefer the environment variable).", envvar="VAULT_TOKEN"
    ),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Only show what would change; write nothing.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON report.")]
DotenvOption = Annotated[
    Path | None, typer.Option("--dotenv", help="Read values from this .env file (environment variables win).")
]
DopplerOption = Annotated[
    Path | None,
    typer.Option(
        "--doppler-json",
        help="Read values from `doppler secrets download --no-file --format json` output (lowest rank).",
    ),
]

_STYLES = {
    Status.UNCHANGED: "dim",
    Status.PRESENT: "green",
    Status.KEPT: "cyan",
    Status.WOULD_WRITE: "yellow",
    Status.WRITTEN: "green",
    Status.MISSING: "bold red",
    Status.CONFLICT: "bold red",
}


class _Redactor:
    """Replaces known secret strings in text that is about to be shown (defence in depth for errors)."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def protect(self, values: Iterable[str | None]) -> None:
        self._secrets.update(value for value in values if value)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


@contextmanager
def _cli_errors(redact: _Redactor) -> Iterator[None]:
    """Turn expected failures into one ``error:`` line on stderr and exit code 1."""
    try:
        yield
    except (
        VaultOperationError,
        SourceError,
        ConfigError,
        ValueError,
        KeyError,
        DockerApiError,
        ObjectStoreError,
        VolumeBackupError,
    ) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        # A config file with several bad keys reports one per line; keep the promise of a single line.
        one_line = "; ".join(line.strip() for line in str(message).splitlines() if line.strip())
        typer.echo(f"error: {redact(one_line)}", err=True)
        raise typer.Exit(code=1) from None


def _manifest(env: str, config_dir: Path | None) -> SecretManifest:
    """The secrets ``env`` needs, from its config file: the name is checked first so that a typo gets the
    naming rule rather than a file lookup."""
    return external_secrets(load_environment(check_env_name(env), config_dir=config_dir or CONFIG_DIR))


def _console() -> Console:
    """Rich console on stdout; wide when piped so paths are never wrapped mid-word."""
    return Console(width=None if sys.stdout.isatty() else 160)


def _print_json(document: object) -> None:
    typer.echo(json.dumps(document, indent=2))


def _show_report(command: str, report: Report, *, as_json: bool) -> None:
    counts = Counter(str(entry.status) for entry in report.entries)
    if as_json:
        _print_json(
            {
                "command": command,
                "env": report.env,
                "dry_run": report.dry_run,
                "ok": report.ok,
                "summary": dict(sorted(counts.items())),
                "entries": [
                    {
                        "name": entry.ref.name,
                        "mount": entry.ref.mount.path,
                        "path": entry.ref.path,
                        "key": entry.ref.key,
                        "env_var": entry.ref.env_var,
                        "status": str(entry.status),
                        "source": entry.source,
                    }
                    for entry in report.entries
                ],
            }
        )
        return
    console = _console()
    title = f"secrets {command} ({report.env}{', dry run' if report.dry_run else ''})"
    table = Table(title=title, title_justify="left")
    for column in ("secret", "key", "status", "source"):
        table.add_column(column, no_wrap=True)
    for entry in report.entries:
        style = _STYLES.get(entry.status, "")
        status = f"[{style}]{entry.status}[/]" if style else str(entry.status)
        table.add_row(entry.ref.secret_address, entry.ref.key, status, escape(entry.source or ""))
    console.print(table, highlight=False)
    console.print(", ".join(f"{count} {status}" for status, count in sorted(counts.items())), highlight=False)
    for entry in report.failed:
        ref = entry.ref
        hint = f"set {ref.env_var}" if entry.status == Status.MISSING else "changed meanwhile, run again"
        console.print(f"[bold red]{entry.status}[/]: {ref.name} ({ref.address}): {hint}", highlight=False)


def _show_changes(env: str, changes: Iterable[Change], *, dry_run: bool, as_json: bool) -> None:
    rows = list(changes)
    if as_json:
        _print_json(
            {
                "command": "vault apply",
                "env": env,
                "dry_run": dry_run,
                "changes": [
                    {"kind": item.kind, "name": item.name, "outcome": str(item.outcome)} for item in rows
                ],
            }
        )
        return
    table = Table(title=f"vault apply ({env}{', dry run' if dry_run else ''})", title_justify="left")
    for column in ("kind", "name", "outcome"):
        table.add_column(column, no_wrap=True)
    for item in rows:
        table.add_row(item.kind, item.name, str(item.outcome))
    _console().print(table, highlight=False)


@secrets_app.command("bootstrap")
def secrets_bootstrap(
    env: EnvOption = "local",
    config_dir: ConfigDirOption = None,
    vault_addr: VaultAddrOption = None,
    vault_token: VaultTokenOption = None,
    dotenv: DotenvOption = None,
    doppler_json: DopplerOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Copy the externally provided secrets into Vault; only changed secrets get a new version.

    Writes what it can, then exits 1 if a secret is in neither the sources nor Vault, or changed meanwhile.
    """
    redact = _Redactor()
    redact.protect([vault_token])
    with _cli_errors(redact):
        manifest = _manifest(env, config_dir)
        values = collect_values(manifest.env_vars, dotenv=dotenv, doppler_json=doppler_json)
        redact.protect(item.value for item in values.values())
        store = VaultKvStore(connect(vault_addr, vault_token))
        report = bootstrap(store, manifest, values, env=env, dry_run=dry_run)
    _show_report("bootstrap", report, as_json=as_json)
    raise typer.Exit(code=0 if report.ok else 1)


@secrets_app.command("check")
def secrets_check(
    env: EnvOption = "local",
    config_dir: ConfigDirOption = None,
    vault_addr: VaultAddrOption = None,
    vault_token: VaultTokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check that Vault holds every externally provided secret; exit 1 naming the missing ones."""
    redact = _Redactor()
    redact.protect([vault_token])
    with _cli_errors(redact):
        manifest = _manifest(env, config_dir)
        report = check(VaultKvStore(connect(vault_addr, vault_token)), manifest, env=env)
    _show_report("check", report, as_json=as_json)
    raise typer.Exit(code=0 if report.ok else 1)


@secrets_app.command("list")
def secrets_list(
    env: EnvOption = "local", config_dir: ConfigDirOption = None, as_json: JsonOption = False
) -> None:
    """List the externally provided secrets: name, Vault path and key, and the variable to set."""
    with _cli_errors(_Redactor()):
        manifest = _manifest(env, config_dir)
    if as_json:
        _print_json(
            [
                {
                    "name": ref.name,
                    "address": ref.address,
                    "env_var": ref.env_var,
                    "description": ref.description,
                }
                for ref in manifest.values()
            ]
        )
        return
    table = Table(title=f"external secrets ({env})", title_justify="left")
    for column in ("name", "secret", "key", "variable", "description"):
        table.add_column(column)
    for ref in manifest.values():
        table.add_row(ref.name, ref.secret_address, ref.key, ref.env_var, ref.description)
    _console().print(table, highlight=False)


@vault_app.command("apply")
def vault_apply(
    env: EnvOption = "local",
    vault_addr: VaultAddrOption = None,
    vault_token: VaultTokenOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Enable the KV v2 mounts and write the policies (idempotent; nothing is removed)."""
    redact = _Redactor()
    redact.protect([vault_token])
    with _cli_errors(redact):
        access = vault_access(env)
        changes = apply_access(connect(vault_addr, vault_token), access, dry_run=dry_run)
    _show_changes(env, changes, dry_run=dry_run, as_json=as_json)


ROOT_REJECTED_HINT = (
    ": is this root token already revoked? Make a new one with `operator generate-root` (docs/runbook.md)"
)


@vault_app.command("bootstrap")
def vault_bootstrap(
    root_token_file: Annotated[
        Path,
        typer.Option(
            "--root-token-file",
            help="The root token the first start left in the keys directory (root-token); deleted here "
            "once the token is revoked.",
        ),
    ],
    credentials_out: Annotated[
        Path,
        typer.Option(
            "--credentials-out",
            help="New file (0600) for the vault-admin AppRole's role-id and secret-id; never overwritten.",
        ),
    ],
    env: EnvOption = "local",
    config_dir: ConfigDirOption = None,
    vault_addr: VaultAddrOption = None,
    as_json: JsonOption = False,
) -> None:
    """Once per Vault: write the vault-admin policy and AppRole, hand out its credentials, revoke root."""
    redact = _Redactor()
    with _cli_errors(redact):
        environment = load_environment(check_env_name(env), config_dir=config_dir or CONFIG_DIR)
        check_credentials_target(credentials_out)
        try:
            root_token = root_token_file.read_text().strip()
        except OSError as error:
            raise ValueError(f"{root_token_file}: cannot read the root token ({error.strerror})") from None
        redact.protect([root_token])
        report = bootstrap_admin(
            connect(vault_addr, root_token, rejected_hint=ROOT_REJECTED_HINT),
            vault_access(env, contributors_read_secrets=environment.layer2.vault.contributors_read_secrets),
            environment.layer2.vault,
            openbao=environment.vault.is_openbao,
            credentials_file=credentials_out,
        )
        try:
            root_token_file.unlink()
            removed = True
        except OSError:
            removed = False
    document = {
        "command": "vault bootstrap",
        "env": env,
        **asdict(report),
        "root_token_file_removed": removed,
    }
    if as_json:
        _print_json(document)
    else:
        for key, value in document.items():
            typer.echo(f"{key}: {value}")
        if not removed:
            typer.echo(
                f"note: could not delete {root_token_file}; the Vault entrypoint deletes its own copy "
                "once it sees the token refused"
            )


@vault_app.command("policies")
def vault_policies(env: EnvOption = "local", config_dir: ConfigDirOption = None) -> None:
    """Print the rendered policy HCL of every policy, as Terraform and `vault apply` would write it, and
    the vault-admin policy `vault bootstrap` writes."""
    with _cli_errors(_Redactor()):
        access = vault_access(env)
        admin = vault_admin_policy(load_environment(check_env_name(env), config_dir=config_dir or CONFIG_DIR))
    for policy in access.policies:
        typer.echo(f"# {policy.name}: {policy.description}\n{policy_hcl(policy)}")
    typer.echo(f"# {VAULT_ADMIN}: layer2 and platform deploys (sprocket-infra vault bootstrap)\n{admin}")


@app.command("postgres-grants")
def postgres_grants(env: EnvOption = "local", config_dir: ConfigDirOption = None) -> None:
    """Print the psql script that closes each consumer's database to its own login. layer2 applies it
    to a DigitalOcean cluster itself (the postgres-grants service); on an `external` server run it once
    as a role that owns the databases: `psql -d postgres -f grants.sql`."""
    from sprocket_infra.postgres_grants import consumer_grants, grants_sql, maintenance_database

    with _cli_errors(_Redactor()):
        environment = load_environment(check_env_name(env), config_dir=config_dir or CONFIG_DIR)
        home = maintenance_database(environment)
        if home is None:
            raise ConfigError(f"{env}: layer2.postgres.kind is 'none': this environment has no PostgreSQL")
        consumers = environment.layer2.database_consumers
        typer.echo(grants_sql(consumer_grants(environment, consumers), maintenance_database=home), nl=False)


# --- verify ------------------------------------------------------------------------------------------

ALERT_WEBHOOK_SECRET = "gatus-alert-webhook"  # noqa: S105 - the secret's stable name, not its value
"""The operator-provided Discord webhook (sprocket_infra.secrets.external) alerts go to."""
_OUTCOME_STYLES = {Outcome.OK: "green", Outcome.FAIL: "bold red", Outcome.SKIP: "yellow"}


def _target(value: str | None, default_port: int) -> Target | None:
    return None if value is None else Target.parse(value, default_port=default_port)


def _show_verify(report: VerifyReport, *, as_json: bool) -> None:
    if as_json:
        _print_json(report.as_json())
        return
    table = Table(title=f"verify ({report.environment})", title_justify="left")
    for column in ("kind", "check", "outcome", "detail"):
        table.add_column(column, no_wrap=column != "detail")
    for result in report.results:
        style = _OUTCOME_STYLES[result.outcome]
        table.add_row(
            result.kind, escape(result.name), f"[{style}]{result.outcome}[/]", escape(result.detail)
        )
    console = _console()
    console.print(table, highlight=False)
    summary = report.as_json()["summary"]
    console.print(", ".join(f"{count} {outcome}" for outcome, count in summary.items()), highlight=False)


@app.command("verify")
def verify(
    env: EnvOption = "local",
    as_json: JsonOption = False,
    http_connect: Annotated[
        str | None,
        typer.Option(help="Send plain-HTTP requests to this host[:port] (Traefik's web entrypoint)."),
    ] = None,
    https_connect: Annotated[
        str | None,
        typer.Option(help="Send TLS connections to this host[:port] (Traefik's websecure entrypoint)."),
    ] = None,
    vault_addr: VaultAddrOption = None,
    gatus_url: Annotated[
        str | None,
        typer.Option(help="Gatus reached directly, e.g. through an SSH tunnel (its route needs a session)."),
    ] = None,
    docker_host: Annotated[
        str,
        typer.Option(help="The Swarm manager's Docker API: unix://, tcp:// or ssh://.", envvar="DOCKER_HOST"),
    ] = DEFAULT_DOCKER_HOST,
    timeout: Annotated[
        float, typer.Option(help="Seconds allowed for each connect, read or handshake.")
    ] = 10.0,
    min_cert_days: Annotated[
        float, typer.Option(help="Fail a certificate that expires within this many days.")
    ] = 14.0,
    ca_file: Annotated[
        Path | None, typer.Option(help="Trust these CAs (PEM) instead of the system's, for TLS checks.")
    ] = None,
    skip: Annotated[
        list[str] | None, typer.Option(help="Leave out a kind of check: route, tls, vault, swarm, gatus.")
    ] = None,
    alert: Annotated[
        bool,
        typer.Option(
            help="On failure, post the failed checks to the Discord webhook Gatus uses, read from Vault "
            "(--vault-addr/--vault-token or VAULT_ADDR/VAULT_TOKEN)."
        ),
    ] = False,
    vault_token: VaultTokenOption = None,
) -> None:
    """Check the running environment against the stacks: routes, certificates, Vault, Swarm, Gatus.

    Exits 1 when any check fails; skipped checks (e.g. Gatus behind forward-auth) do not fail the run.
    """
    redact = _Redactor()
    redact.protect([vault_token])
    webhook: str | None = None
    with _cli_errors(redact):
        if alert:
            store = VaultKvStore(connect(vault_addr, vault_token, timeout_s=timeout))
            webhook = webhook_url(store, _manifest(env, None)[ALERT_WEBHOOK_SECRET])
            redact.protect([webhook])
        inputs = load_inputs(check_env_name(env))
        options = VerifyOptions(
            http_connect=_target(http_connect, 80),
            https_connect=_target(https_connect, 443),
            vault_addr=vault_addr,
            gatus_url=gatus_url,
            docker=DockerClient(host=docker_host, timeout_s=timeout),
            timeout_s=timeout,
            min_cert_days=min_cert_days,
            ca_file=str(ca_file) if ca_file else None,
            skip=frozenset(item for value in skip or () for item in value.split(",") if item),
        )
        expected = expected_state(inputs.environment, inputs.catalog)
        checks = plan_checks(expected, options)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=as_json or not sys.stderr.isatty(),
    )
    with progress:
        task = progress.add_task(f"verify {env}", total=len(checks))

        def advance(check: Check, _results: list[CheckResult]) -> None:
            progress.update(task, advance=1, description=f"{check.kind} {check.name}")

        report = run_checks(env, checks, workers=options.workers, on_done=advance)
    _show_verify(report, as_json=as_json)
    if webhook is not None and not report.ok:
        try:
            send_alert(webhook, alert_payload(report), timeout_s=timeout)
        except AlertError as error:
            typer.echo(f"error: {redact(str(error))}", err=True)
    raise typer.Exit(code=0 if report.ok else 1)


# --- backup / restore --------------------------------------------------------------------------------


@app.command("diagram")
def diagram(
    env: EnvOption = "local",
    output_format: Annotated[
        str, typer.Option("--format", help="mermaid (GitHub renders it), dot (Graphviz) or svg (runs dot).")
    ] = "mermaid",
) -> None:
    """Draw the environment's stacks, services, overlays, routes and cloud parts from the built stacks."""
    from sprocket_infra.app import load_inputs
    from sprocket_infra.ops.diagram import architecture, dot, mermaid

    if output_format not in ("mermaid", "dot", "svg"):
        raise typer.BadParameter(f"--format: expected mermaid, dot or svg (got {output_format!r})")
    with _cli_errors(_Redactor()):
        inputs = load_inputs(env)
        arch = architecture(inputs.environment, inputs.catalog)
    if output_format == "mermaid":
        sys.stdout.write(mermaid(arch))
        return
    if output_format == "dot":
        sys.stdout.write(dot(arch))
        return
    graphviz = shutil.which("dot")
    if graphviz is None:
        _console().print("error: --format svg needs Graphviz's `dot` on PATH (apt install graphviz)")
        raise typer.Exit(1)
    rendered = subprocess.run(
        [graphviz, "-Tsvg"], input=dot(arch), capture_output=True, text=True, check=True
    )
    sys.stdout.write(rendered.stdout)


backup_app = typer.Typer(
    help="Back up Vault (raft snapshot) or a named volume, to a file or the backups bucket."
)
restore_app = typer.Typer(help="Restore Vault or a named volume from a file or the backups bucket.")
app.add_typer(backup_app, name="backup", no_args_is_help=True)
app.add_typer(restore_app, name="restore", no_args_is_help=True)

OutOption = Annotated[Path | None, typer.Option("--out", help="Write the backup to this file (mode 0600).")]
FromOption = Annotated[Path | None, typer.Option("--from", help="Restore from this file.")]
BucketOption = Annotated[
    str | None,
    typer.Option(
        "--bucket",
        help="S3/Spaces bucket for backups (credentials: AWS_* variables).",
        envvar="SPROCKET_BACKUP_BUCKET",
    ),
]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        help="S3 endpoint, e.g. https://nyc3.digitaloceanspaces.com.", envvar="SPROCKET_BACKUP_ENDPOINT"
    ),
]
RegionOption = Annotated[str, typer.Option(help="S3 region (Spaces: the datacenter, e.g. nyc3).")]
KeepOption = Annotated[int, typer.Option(help="Backups to keep in the bucket; older ones are deleted.")]
KeyOption = Annotated[str | None, typer.Option(help="Object to restore (default: the newest backup).")]
DockerHostOption = Annotated[
    str, typer.Option(help="The Docker API of the node holding the volume.", envvar="DOCKER_HOST")
]


def _bucket(name: str | None, endpoint_url: str | None, region: str) -> Bucket | None:
    return None if name is None else Bucket(name=name, endpoint_url=endpoint_url, region=region)


def _show_backup(document: dict[str, object], *, as_json: bool) -> None:
    if as_json:
        _print_json(document)
        return
    for key, value in document.items():
        typer.echo(f"{key}: {value}")


@backup_app.command("vault")
def backup_vault(
    env: EnvOption = "local",
    vault_addr: VaultAddrOption = None,
    vault_token: VaultTokenOption = None,
    out: OutOption = None,
    bucket: BucketOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = "us-east-1",
    keep: KeepOption = 14,
    as_json: JsonOption = False,
) -> None:
    """Take a raft snapshot of Vault (local/lan storage); useful only with that cluster's unseal keys."""
    redact = _Redactor()
    redact.protect([vault_token])
    with _cli_errors(redact), tempfile.TemporaryDirectory(prefix="sprocket-backup-") as scratch:
        require_one(out, bucket, flags="--out or --bucket", purpose="goes")
        client = connect(vault_addr, vault_token, timeout_s=120)
        produced = out or Path(scratch) / "vault.snap"
        snapshot = save_snapshot(client, produced)
        delivered = deliver(
            produced,
            out=out,
            bucket=_bucket(bucket, endpoint_url, region),
            prefix=backup_prefix("vault", env, "raft"),
            suffix="snap",
            keep=keep,
        )
    _show_backup(
        {
            "backup": "vault",
            "env": env,
            "location": delivered.location,
            "bytes": snapshot.size_bytes,
            "sha256": snapshot.sha256,
            "seconds": round(snapshot.seconds, 2),
            "pruned": list(delivered.pruned),
        },
        as_json=as_json,
    )


@restore_app.command("vault")
def restore_vault(
    env: EnvOption = "local",
    vault_addr: VaultAddrOption = None,
    vault_token: VaultTokenOption = None,
    source: FromOption = None,
    bucket: BucketOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = "us-east-1",
    key: KeyOption = None,
    force: Annotated[
        bool, typer.Option(help="The snapshot is from another cluster (a DR restore into a new Vault).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Replace all of Vault's data without asking.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Replace Vault's data with a snapshot; afterwards unseal with the keys of the cluster it came from."""
    redact = _Redactor()
    redact.protect([vault_token])
    with _cli_errors(redact):
        require_one(source, bucket, flags="--from or --bucket", purpose="comes from")
    if not yes:
        typer.confirm(f"Replace every secret in the Vault at {vault_addr} with the snapshot?", abort=True)
    with _cli_errors(redact), tempfile.TemporaryDirectory(prefix="sprocket-restore-") as scratch:
        client = connect(vault_addr, vault_token, timeout_s=120)
        chosen = fetch(
            source,
            bucket=_bucket(bucket, endpoint_url, region),
            prefix=backup_prefix("vault", env, "raft"),
            key=key,
            scratch=Path(scratch),
        )
        seconds = restore_snapshot(client, chosen, force=force)
    _show_backup(
        {
            "restore": "vault",
            "env": env,
            "from": str(key or source or chosen.name),
            "seconds": round(seconds, 2),
        },
        as_json=as_json,
    )


@backup_app.command("volume")
def backup_volume_command(
    volume: Annotated[str, typer.Argument(help="Named volume, e.g. grafana-data.")],
    env: EnvOption = "local",
    docker_host: DockerHostOption = DEFAULT_DOCKER_HOST,
    out: OutOption = None,
    bucket: BucketOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = "us-east-1",
    keep: KeepOption = 14,
    as_json: JsonOption = False,
) -> None:
    """Copy a named volume into a .tar.gz through the Docker API (nothing runs; no image is pulled)."""
    with _cli_errors(_Redactor()), tempfile.TemporaryDirectory(prefix="sprocket-backup-") as scratch:
        require_one(out, bucket, flags="--out or --bucket", purpose="goes")
        produced = out or Path(scratch) / f"{volume}.tar.gz"
        archive = backup_volume(DockerClient(host=docker_host, timeout_s=120), volume, produced)
        delivered = deliver(
            produced,
            out=out,
            bucket=_bucket(bucket, endpoint_url, region),
            prefix=backup_prefix("volumes", env, volume),
            suffix="tar.gz",
            keep=keep,
        )
    _show_backup(
        {
            "backup": "volume",
            "volume": volume,
            "env": env,
            "location": delivered.location,
            "bytes": archive.size_bytes,
            "entries": archive.entries,
            "seconds": round(archive.seconds, 2),
            "pruned": list(delivered.pruned),
        },
        as_json=as_json,
    )


@restore_app.command("volume")
def restore_volume_command(
    volume: Annotated[str, typer.Argument(help="Named volume to fill; it must exist and be empty.")],
    env: EnvOption = "local",
    docker_host: DockerHostOption = DEFAULT_DOCKER_HOST,
    source: FromOption = None,
    bucket: BucketOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = "us-east-1",
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Unpack a volume backup into an empty named volume (scale its service to 0 first)."""
    with _cli_errors(_Redactor()), tempfile.TemporaryDirectory(prefix="sprocket-restore-") as scratch:
        require_one(source, bucket, flags="--from or --bucket", purpose="comes from")
        chosen = fetch(
            source,
            bucket=_bucket(bucket, endpoint_url, region),
            prefix=backup_prefix("volumes", env, volume),
            key=key,
            scratch=Path(scratch),
        )
        seconds = restore_volume(DockerClient(host=docker_host, timeout_s=120), volume, chosen)
    _show_backup(
        {
            "restore": "volume",
            "volume": volume,
            "env": env,
            "from": str(key or source or chosen.name),
            "seconds": round(seconds, 2),
        },
        as_json=as_json,
    )


# --- state -------------------------------------------------------------------------------------------

state_app = typer.Typer(help="The Terraform state bucket.")
app.add_typer(state_app, name="state", no_args_is_help=True)


@state_app.command("bucket")
def state_bucket_command(env: EnvOption = "prod", as_json: JsonOption = False) -> None:
    """Create the environment's state bucket if missing and make sure versioning is on (AWS_* key)."""
    from sprocket_infra.config import S3State
    from sprocket_infra.ops.state_bucket import ensure_state_bucket, state_bucket

    with _cli_errors(_Redactor()):
        environment = load_environment(check_env_name(env))
        if not isinstance(environment.state, S3State):
            raise ValueError(f"config/{env}.yaml: state.kind: expected 's3' for a state bucket (got 'local')")
        report = ensure_state_bucket(state_bucket(environment.state))
    _show_backup(
        {"bucket": report.bucket, "created": report.created, "versioning": report.versioning}, as_json=as_json
    )
