"""Typed values that cross from layer2 to platform: where a dependency lives and how to log in.

Hosts and ports may be cdktf tokens (e.g. a managed PostgreSQL host); cdktf turns a token read by another
stack into an output plus a remote-state lookup. Credentials never cross as values: they cross as Vault
references, read at deploy time by the consuming stack.
"""

from __future__ import annotations

from dataclasses import dataclass

from sprocket_infra.constructs.vault_docker_secrets import VaultKey


@dataclass(frozen=True, kw_only=True)
class ServiceEndpoint:
    host: str
    """Swarm DNS name (or managed host) reachable from the consuming service's networks."""
    port: int


@dataclass(frozen=True, kw_only=True)
class Login:
    username: VaultKey
    password: VaultKey


@dataclass(frozen=True, kw_only=True)
class DatabaseLogin:
    """One consumer's own database and least-privilege user."""

    endpoint: ServiceEndpoint
    database: str
    username: str
    password: VaultKey
    sslmode: str = "require"
    ca_certificate: str | None = None
    """PEM of the CA that signed the server's certificate, for clients that verify TLS (a CA is public, so
    it crosses stacks as a value, unlike the password). A DigitalOcean cluster signs with its own CA, which
    no system trust store holds, so there it is a Terraform reference to the cluster's CA. None where the
    clients' system CAs are the right trust anchor (an ``external`` server) or TLS is off."""


@dataclass(frozen=True, kw_only=True)
class Bucket:
    name: str
    endpoint: str
    """S3 API endpoint host, e.g. ``nyc3.digitaloceanspaces.com``."""
    region: str
