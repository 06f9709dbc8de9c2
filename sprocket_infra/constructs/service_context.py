"""``ServiceContext``: what every layer2 service construct takes from the stack, and the few helpers
they all need, so no service repeats how a host, a route or a secret file is made.

Secret files are mounted under ``/run/secrets`` (the convention of the third-party images here, and where
Telegraf's Docker secret store looks) with mode 0444: most of these images start as root and drop to their
own user (redis, rabbitmq, grafana, neo4j, node), and a Swarm secret is owned by root, so 0400 would lock
the service out of its own password. The file is still visible only inside that one container.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sprocket_infra import naming
from sprocket_infra.config import Environment
from sprocket_infra.constructs.edge import Routing
from sprocket_infra.constructs.swarm_service import NamedNetwork, SecretFile
from sprocket_infra.constructs.vault_docker_secrets import VaultKey
from sprocket_infra.constructs.vault_secrets import Layer2Secrets

SECRETS_DIR = "/run/secrets"
SECRET_MODE = 0o444


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
        """``ref``'s value mounted at ``/run/secrets/<file_name>``."""
        return SecretFile(
            secret=self.secrets.docker_secret(ref, owner=owner),
            target=f"{SECRETS_DIR}/{file_name}",
            mode=SECRET_MODE,
        )

    def secret_file(
        self, *, owner: str, target: str, template: str, refs: Sequence[VaultKey], hashed: bool = False
    ) -> SecretFile:
        """A file built around secret values (see :meth:`Layer2Secrets.docker_secret_file`) at ``target``."""
        name = target.rsplit("/", 1)[-1].replace(".", "-").replace("_", "-")
        secret = self.secrets.docker_secret_file(
            owner=owner, name=name, template=template, refs=refs, hashed=hashed
        )
        return SecretFile(secret=secret, target=target, mode=SECRET_MODE)
