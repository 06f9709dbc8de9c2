"""Checks over the loaded environment and catalog together, before anything is built.

Pure functions of the two inputs (no cdktf, no jsii), so ``main.py`` reports them in well under a
second. Each rule yields :class:`Problem`s naming the file and key path to fix; :data:`RULES` is the list.

- **One host, one owner**: every host any stack routes (layer1's Traefik dashboard and Vault, layer2's
  forward-auth and admin UIs, every catalog route, and the server and Tailscale IPs of the one route
  that answers on them) is claimed once. The synth-time ``Routing`` object refuses a second claim too;
  this check finds it from the files alone, and names the file to change.
- **Derived names the engines accept**: names made by :mod:`sprocket_infra.naming` from the
  environment's name and the catalog's keys (Swarm services, overlay networks, volumes, buckets, hosts)
  pass the rules of Swarm, S3 and DNS, so a long or oddly ending name fails here and not at deploy.
- **Cloud regions that fit**: a Spaces bucket's region offers Spaces.
- **One Discord application per environment**: no other shipped environment file (``config/*.yaml``)
  names the same forward-auth client id, so no two Vaults hold one OAuth client secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sprocket_infra import naming
from sprocket_infra.catalog import Catalog
from sprocket_infra.config import CONFIG_DIR, ConfigError, Environment, load_environment
from sprocket_infra.config.fields import SPACES_REGIONS, bucket_name_problem
from sprocket_infra.config.load import DEFAULTS_NAME, shown_path


@dataclass(frozen=True)
class Problem:
    file: str
    """Which input to change: the environment file or the catalog, as they were read."""
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


@dataclass(frozen=True, kw_only=True)
class Sources:
    environment: str
    catalog: str


LAYER2_ADMIN_SUBDOMAINS: Mapping[str, str] = {
    "grafana": "Grafana",
    "status": "Gatus (status page)",
    "n8n": "n8n",
    "influx": "InfluxDB",
    "rabbitmq": "RabbitMQ management",
    "neo4j": "Neo4j browser",
    "bolt.neo4j": "Neo4j Bolt (TCP)",
}
"""Subdomains layer2's admin UIs answer on, in every environment; no catalog route may take them.
The constructs route on these names; tests/unit/test_input_checks.py compares this table with the hosts
the synthesized stacks route."""
TRAEFIK_DASHBOARD_SUBDOMAIN = "traefik"


@dataclass(frozen=True)
class Claim:
    host: str
    owner: str
    """Who routes it, as an operator would look it up (a key path, or a reserved name)."""
    file: str
    key: str


def routed_hosts(environment: Environment, catalog: Catalog, sources: Sources) -> list[Claim]:
    """Every host any of the three stacks routes, in stack order: layer1, layer2, then the catalog."""
    routing, env_file = environment.routing, sources.environment
    claims = [
        Claim(
            naming.public_host(routing, TRAEFIK_DASHBOARD_SUBDOMAIN),
            "layer1's Traefik dashboard (reserved)",
            env_file,
            "routing.domain",
        ),
        Claim(
            naming.public_host(routing, environment.vault.subdomain),
            f"Vault ({env_file}: vault.subdomain)",
            env_file,
            "vault.subdomain",
        ),
        Claim(
            naming.public_host(routing, environment.layer2.forward_auth.subdomain),
            f"the forward-auth login ({env_file}: layer2.forward_auth.subdomain)",
            env_file,
            "layer2.forward_auth.subdomain",
        ),
    ]
    claims += [
        Claim(naming.public_host(routing, sub), f"layer2's {what} (reserved)", env_file, "routing.domain")
        for sub, what in LAYER2_ADMIN_SUBDOMAINS.items()
    ]
    for key, entry in catalog.services.items():
        for index, route in enumerate(entry.routes):
            path = f"services.{key}.routes.{index}"
            subdomain = None if route.apex else route.subdomain
            for host in naming.host_forms(routing, subdomain, answers_on_ips=route.answers_on_ips):
                claims.append(Claim(host, f"{sources.catalog}: {path}", sources.catalog, path))
    return claims


def _host_problems(environment: Environment, catalog: Catalog, sources: Sources) -> Iterator[Problem]:
    first: dict[str, Claim] = {}
    for claim in routed_hosts(environment, catalog, sources):
        owner = first.setdefault(claim.host, claim)
        if owner is not claim:
            yield Problem(claim.file, claim.key, f"host {claim.host} is already routed to {owner.owner}")
        if len(claim.host) > 253 or any(len(label) > 63 for label in claim.host.split(".")):
            yield Problem(
                claim.file, claim.key, f"host {claim.host} is longer than DNS allows (RFC 1035 2.3.4)"
            )


# Source: swarmkit manager/controlapi/common.go validateAnnotations: service and network names match
# ^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$ and are at most 63 characters (one DNS label: tasks resolve them).
_SWARM_NAME_RE = re.compile(r"^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$")
# Source: moby volume/local validName: [a-zA-Z0-9][a-zA-Z0-9_.-]+.
_VOLUME_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def _swarm_name(name: str, what: str) -> str | None:
    if len(name) > 63:
        return f"{what} {name!r} is {len(name)} characters; Swarm allows 63"
    if not _SWARM_NAME_RE.match(name):
        return f"{what} {name!r}: Swarm wants letters and digits joined by '-' or '_', ending in one"
    return None


def _name_problems(environment: Environment, catalog: Catalog, sources: Sources) -> Iterator[Problem]:
    env_file = sources.environment
    purposes: dict[str, str] = {}
    for key, entry in catalog.services.items():
        where = f"services.{key}"
        why = _swarm_name(naming.platform_service_name(environment, key), "service name")
        if why:
            yield Problem(sources.catalog, where, f"{why} (from name {environment.name!r} in {env_file})")
        for purpose in entry.networks:
            purposes.setdefault(purpose, f"{where}.networks")
        if entry.stateful:
            volume = naming.volume_name(environment, key)
            if not _VOLUME_NAME_RE.match(volume):
                yield Problem(sources.catalog, f"{where}.volume", f"volume name {volume!r} is no Docker name")
    for purpose, where in purposes.items():
        why = _swarm_name(naming.platform_network(environment, purpose), "network name")
        if why:
            yield Problem(sources.catalog, where, why)
    for kind, bucket in environment.layer2.buckets.items():
        name = naming.bucket_name(environment, kind)
        why = bucket_name_problem(name)
        if why:
            yield Problem(
                env_file, f"layer2.buckets.{kind}", f"bucket name {name!r} (made from 'name'): {why}"
            )
        if bucket.provider == "spaces":
            region = bucket.region or environment.digitalocean.region
            if region not in SPACES_REGIONS:
                key = f"layer2.buckets.{kind}.region" if bucket.region else "digitalocean.region"
                yield Problem(
                    env_file,
                    key,
                    f"{region!r} offers no Spaces, so bucket {kind!r} cannot live there "
                    f"(Spaces regions: {', '.join(sorted(SPACES_REGIONS))})",
                )
        elif bucket.region is not None and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", bucket.region):
            yield Problem(
                env_file,
                f"layer2.buckets.{kind}.region",
                f"expected an AWS region such as 'us-east-1' (got {bucket.region!r})",
            )


def client_id_problems(
    environment: Environment, source: str, *, config_dir: Path = CONFIG_DIR
) -> Iterator[Problem]:
    """The environment files in ``config_dir`` whose forward-auth client id is this environment's too
    (``unregistered`` shares nothing; a file that does not load reports its own errors when used)."""
    client_id = environment.layer2.forward_auth.client_id
    if client_id == "unregistered":
        return
    for path in sorted(config_dir.glob("*.yaml")):
        if path.stem in {DEFAULTS_NAME, environment.name}:
            continue
        try:
            other = load_environment(path.stem, config_dir=config_dir)
        except ConfigError:
            continue
        if other.layer2.forward_auth.client_id == client_id:
            yield Problem(
                source,
                "layer2.forward_auth.client_id",
                f"{client_id} is also the client id of {shown_path(path)}: give each environment its own "
                "Discord OAuth application (or 'unregistered'), so its client secret lives in one Vault only",
            )


def _client_id_problems(environment: Environment, _catalog: Catalog, sources: Sources) -> Iterator[Problem]:
    return client_id_problems(environment, sources.environment)


Rule = Callable[[Environment, Catalog, Sources], Iterator[Problem]]
RULES: tuple[Rule, ...] = (_host_problems, _name_problems, _client_id_problems)


def input_problems(environment: Environment, catalog: Catalog, sources: Sources) -> list[Problem]:
    """Every problem of the two inputs together, rule by rule."""
    return [problem for rule in RULES for problem in rule(environment, catalog, sources)]
