"""``vault.hcl`` as text, from a typed description of one server: a pure function, no cdktf, no config.

The construct describes each Vault/OpenBao node with a :class:`ServerConfig` and mounts what
:func:`render` returns; the integration tests render the same text for their loopback cluster. Keeping the
text in one pure function means the HCL that runs in tests is the HCL that ships, and a table test pins
every stanza (seal, raft ``retry_join``, cluster addresses) without a synth.

Values are written as HCL string literals; they may be cdktf string tokens (e.g. a KMS key id), which
the caller resolves, so nothing here inspects them beyond quoting.
"""

from __future__ import annotations

from dataclasses import dataclass

AUDIT_DEVICE_PATH = "stdout"
"""Where the audit device that logs every request to the container's stdout is mounted."""


@dataclass(frozen=True, kw_only=True)
class RaftStorage:
    """Integrated storage on a node-local directory; ``retry_join`` makes a node find its cluster."""

    path: str
    node_id: str
    retry_join: tuple[str, ...] = ()
    """API addresses of the other nodes; each becomes a ``retry_join`` block. Left out: a single node."""
    performance_multiplier: int | None = None
    """Raft timing factor (1 = fastest elections). Left out: the server's default (5)."""


@dataclass(frozen=True, kw_only=True)
class S3Storage:
    """HashiCorp Vault's ``s3`` storage; credentials come from the AWS chain, never from this file."""

    bucket: str
    endpoint: str
    region: str
    path: str


@dataclass(frozen=True, kw_only=True)
class ShamirSeal:
    """The default seal: no stanza; the entrypoint unseals with key shares from disk."""


@dataclass(frozen=True, kw_only=True)
class TransitSeal:
    """Auto-unseal through another Vault/OpenBao's transit engine. Its token is never written here: the
    entrypoint hands it to the server process as ``VAULT_TOKEN`` from a secret file."""

    address: str
    key_name: str
    mount_path: str = "transit/"


@dataclass(frozen=True, kw_only=True)
class AwsKmsSeal:
    """Auto-unseal through an AWS KMS key; credentials come from the AWS chain, never from this file."""

    region: str
    kms_key_id: str


Seal = ShamirSeal | TransitSeal | AwsKmsSeal


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """Everything that differs between the ``vault.hcl`` of two servers."""

    api_addr: str
    """The address clients (and standbys redirecting to the active node) use."""
    cluster_addr: str
    """Where the other nodes reach this one for raft and request forwarding."""
    listen: str
    """``host:port`` of the API listener (TLS ends at Traefik, so plain HTTP)."""
    cluster_listen: str | None = None
    """``host:port`` of the cluster listener. Left out: the server's default, the API port + 1."""
    storage: RaftStorage | S3Storage
    seal: Seal = ShamirSeal()
    audit_to_stdout: bool = False
    """Declare a file audit device on stdout (OpenBao accepts audit devices only from its config)."""
    disable_mlock: bool = False
    """Write ``disable_mlock = true`` (HashiCorp Vault in an unprivileged container; OpenBao 2 dropped it)."""
    trusted_proxy_cidrs: tuple[str, ...] = ()
    """Addresses (CIDRs) of the reverse proxies whose ``X-Forwarded-For`` the listener believes: requests
    from them are logged, audited and rate limited under the client address they forward. A request from
    anywhere else that carries the header is refused (400), so no client can pose as another. Left out:
    the header is not read at all and every request counts as coming from its connecting address."""


def _block(header: str, pairs: list[tuple[str, str]], indent: str = "") -> str:
    """An HCL block of string attributes, ``=`` aligned the way we write them by hand."""
    width = max(len(key) for key, _ in pairs)
    body = "".join(f'{indent}  {key.ljust(width)} = "{value}"\n' for key, value in pairs)
    return f"{indent}{header} {{\n{body}{indent}}}\n"


def _storage(storage: RaftStorage | S3Storage) -> str:
    if isinstance(storage, S3Storage):
        return _block(
            'storage "s3"',
            [
                ("bucket", storage.bucket),
                ("endpoint", storage.endpoint),
                ("region", storage.region),
                ("path", storage.path),
            ],
        )
    lines = [f'  path    = "{storage.path}"\n', f'  node_id = "{storage.node_id}"\n']
    if storage.performance_multiplier is not None:
        lines.append(f"  performance_multiplier = {storage.performance_multiplier}\n")
    for address in storage.retry_join:
        lines.append("\n" + _block("retry_join", [("leader_api_addr", address)], indent="  "))
    return 'storage "raft" {\n' + "".join(lines) + "}\n"


def _seal(seal: Seal) -> str:
    if isinstance(seal, TransitSeal):
        return "\n" + _block(
            'seal "transit"',
            [("address", seal.address), ("mount_path", seal.mount_path), ("key_name", seal.key_name)],
        )
    if isinstance(seal, AwsKmsSeal):
        return "\n" + _block('seal "awskms"', [("region", seal.region), ("kms_key_id", seal.kms_key_id)])
    return ""


def _audit() -> str:
    return (
        "\n"
        f'audit "file" "{AUDIT_DEVICE_PATH}" {{\n'
        '  description = "Every request, secret values HMAC\'d, to the container log (and so to Loki)"\n'
        '  options {\n    file_path = "stdout"\n    format    = "json"\n  }\n'
        "}\n"
    )


def render(config: ServerConfig) -> str:
    """The server's ``vault.hcl``."""
    pairs = [("address", f'"{config.listen}"')]
    if config.cluster_listen is not None:
        pairs.append(("cluster_address", f'"{config.cluster_listen}"'))
    pairs.append(("tls_disable", "true"))
    if config.trusted_proxy_cidrs:
        pairs += [
            ("x_forwarded_for_authorized_addrs", f'"{",".join(config.trusted_proxy_cidrs)}"'),
            ("x_forwarded_for_reject_not_authorized", "true"),
            ("x_forwarded_for_reject_not_present", "false"),
        ]
    width = max(len(key) for key, _ in pairs)
    listener = [f"  {key.ljust(width)} = {value}\n" for key, value in pairs]
    return (
        "ui            = true\n"
        f"{'disable_mlock = true' + chr(10) if config.disable_mlock else ''}"
        f'api_addr      = "{config.api_addr}"\n'
        f'cluster_addr  = "{config.cluster_addr}"\n'
        "\n"
        "# TLS ends at Traefik; this listener is reachable only on the ingress overlay.\n"
        'listener "tcp" {\n'
        f"{''.join(listener)}"
        "}\n"
        "\n"
        f"{_storage(config.storage)}"
        f"{_seal(config.seal)}"
        f"{_audit() if config.audit_to_stdout else ''}"
    )
