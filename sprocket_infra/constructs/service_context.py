"""``ServiceContext``: what every layer2 service construct takes from the stack, and the few helpers
they all need, so no service repeats how a host, a route or a secret file is made.

Secret files are mounted under ``/run/secrets`` (the convention of the third-party images here, and where
Telegraf's Docker secret store looks), mode 0400 and owned by the uid the service runs as
(:mod:`sprocket_infra.constructs.hardening`); a service without an entry there gets 0444 files owned by
root, since its image's user is not known. Either way a file is visible only inside that one service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sprocket_infra import naming
from sprocket_infra.config import Environment
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.edge import Routing
from sprocket_infra.constructs.swarm_service import NamedNetwork, SecretFile
from sprocket_infra.constructs.vault_docker_secrets import VaultKey
from sprocket_infra.constructs.vault_secrets import Layer2Secrets

SECRETS_DIR = "/run/secrets"


@dataclass(frozen=True, kw_only=True)
class ServiceContext:
    environment: Environment
    routing: Routing
    """layer1's edge: every route of every service goes through it."""
    data: NamedNetwork
    """Where Redis, RabbitMQ and InfluxDB serve the platform."""
    monitoring: NamedNetwork
    """Where Loki, InfluxDB, Grafana and the agents talk."""
    secrets: Layer2Secrets

    def host(self, subdomain: str) -> str:
        return self.routing.host(subdomain)

    def url(self, subdomain: str | None) -> str:
        """The public URL of ``subdomain`` (None is the apex)."""
        return naming.public_url(self.environment, subdomain)

    def secret(self, ref: VaultKey, *, owner: str, file_name: str) -> SecretFile:
        """``ref``'s value mounted at ``/run/secrets/<file_name>``, owned by service ``owner``'s uid."""
        secret = self.secrets.docker_secret(ref, owner=owner)
        return hardening.secret_file(owner, secret, f"{SECRETS_DIR}/{file_name}")

    def secret_file(
        self, *, owner: str, target: str, template: str, refs: Sequence[VaultKey], hashed: bool = False
    ) -> SecretFile:
        """A file built around secret values (see :meth:`Layer2Secrets.docker_secret_file`) at ``target``."""
        name = target.rsplit("/", 1)[-1].replace(".", "-").replace("_", "-")
        secret = self.secrets.docker_secret_file(
            owner=owner, name=name, template=template, refs=refs, hashed=hashed
        )
        return hardening.secret_file(owner, secret, target)
