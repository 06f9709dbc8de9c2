"""What each platform app may do on the shared RabbitMQ and Redis, derived from its catalog entry.

layer2 makes one login per app on each shared service it ``uses``. The rights come from the entry and
nothing else, so adding an app to the catalog adds its users, and a queue it does not name stays out of
its reach:

* **RabbitMQ**: in the environment's vhost, *configure* (declare) and *write* the queues it consumes or
  publishes, *read* (consume) only those it consumes. Every app may also write to the default exchange
  (``amq.default``): that is how the apps' clients publish and answer requests (``sendToQueue``, replies
  to ``reply_to``). RabbitMQ checks only the exchange on a publish, so this lets an app *send* to another
  queue by name; it can never read, declare, purge or delete one (see ``docs/shared-service-identities.md``).
* **Redis**: keys and pub/sub channels under its own prefix (``naming.redis_prefix``), every command but
  ``@dangerous`` ones (``KEYS``, ``FLUSHALL``, ``CONFIG``, ``DEBUG``, ``MONITOR`` ...), plus ``INFO``:
  Node's ioredis sends ``INFO`` as its ready check on every connect. Apps on the Celery queue also share
  Celery's result keys and channels (``celery-task-meta-<id>``), which Celery does not prefix: the worker
  writes them and the app that queued the task reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sprocket_infra import naming
from sprocket_infra.catalog.model import Catalog
from sprocket_infra.config import Environment

DEFAULT_EXCHANGE = "amq.default"
"""How RabbitMQ names the nameless default exchange in permission checks."""

CELERY_QUEUE = "celery"
"""Catalog key of the Celery task queue."""

CELERY_RESULTS = "celery-task-meta-"
"""Prefix of Celery's result keys and channels in its Redis result backend (fixed by Celery)."""

APP_COMMANDS = "+@all -@dangerous +info"
"""Redis command rules of every app user; ``+info`` for clients' ready checks (ioredis)."""


_PLAIN = re.compile(r"[A-Za-z0-9_-]")


def _literal(name: str) -> str:
    """``name`` as a regex matching only itself, without backslashes: the definitions file is a Terraform
    ``format`` template, where a backslash would not survive as JSON (``\\-`` is no JSON escape). Other
    characters go in a one-character class (``amq.default`` -> ``amq[.]default``)."""
    out = []
    for char in name:
        if _PLAIN.fullmatch(char):
            out.append(char)
        elif char in "]\\^":
            raise ValueError(f"RabbitMQ resource name {name!r}: {char!r} cannot be matched literally here")
        else:
            out.append(f"[{char}]")
    return "".join(out)


def exact(names: Iterable[str]) -> str:
    """A RabbitMQ permission regex matching exactly ``names`` (``^$``, which matches nothing, if none)."""
    chosen = sorted(set(names))
    if not chosen:
        return "^$"
    return "^(" + "|".join(_literal(name) for name in chosen) + ")$"


@dataclass(frozen=True, kw_only=True)
class RabbitMqClient:
    """One app's RabbitMQ user and its permissions (regexes) in the environment's vhost."""

    key: str
    """Catalog key of the app."""
    username: str
    configure: str
    write: str
    read: str


@dataclass(frozen=True, kw_only=True)
class RedisClient:
    """One app's Redis user: the key and channel patterns it may touch."""

    key: str
    username: str
    patterns: tuple[str, ...]
    """Glob patterns for both keys (``~``) and pub/sub channels (``&``)."""

    def acl_rules(self) -> str:
        """The rules after ``user <name> on #<digest>`` in an ACL line (no password in it)."""
        keys = " ".join(f"~{pattern}" for pattern in self.patterns)
        channels = " ".join(f"&{pattern}" for pattern in self.patterns)
        return f"resetkeys {keys} resetchannels {channels} {APP_COMMANDS}"


def rabbitmq_clients(catalog: Catalog, environment: Environment) -> tuple[RabbitMqClient, ...]:
    """A user per entry that ``uses: [rabbitmq]``, in catalog-key order."""
    clients = []
    for key, entry in sorted(catalog.services.items()):
        if "rabbitmq" not in entry.uses:
            continue
        consumed = [naming.queue_name(environment, catalog.queue_name(queue)) for queue in entry.consumes]
        published = [naming.queue_name(environment, catalog.queue_name(queue)) for queue in entry.publishes]
        clients.append(
            RabbitMqClient(
                key=key,
                username=naming.app_identity(environment, key),
                configure=exact([*consumed, *published]),
                write=exact([DEFAULT_EXCHANGE, *consumed, *published]),
                read=exact(consumed),
            )
        )
    return tuple(clients)


def redis_clients(catalog: Catalog, environment: Environment) -> tuple[RedisClient, ...]:
    """A user per entry that ``uses: [redis]``, in catalog-key order."""
    clients = []
    for key, entry in sorted(catalog.services.items()):
        if "redis" not in entry.uses:
            continue
        patterns = [f"{naming.redis_prefix(environment, key)}*"]
        if CELERY_QUEUE in (*entry.consumes, *entry.publishes):
            patterns.append(f"{CELERY_RESULTS}*")
        clients.append(
            RedisClient(key=key, username=naming.app_identity(environment, key), patterns=tuple(patterns))
        )
    return tuple(clients)
