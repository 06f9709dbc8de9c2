"""The shape of one catalog entry, and the checks that need only that entry.

The catalog is data (``services.yaml``); these models say what each key means and what happens when it
is left out. Checks that look across entries (dangling queues, duplicate hosts) live in
:mod:`sprocket_infra.catalog.checks`; loading and error reporting in :mod:`sprocket_infra.catalog.load`.

What an entry may *refer to* (secret names, config sections) is not known here: it is handed in as a
:class:`Vocabulary` through pydantic's validation context, so the model stays free of the modules that
define those names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import Strict as StrictMode

from sprocket_infra.catalog import placeholders
from sprocket_infra.catalog.dependencies import CREDENTIALS, DEPENDENCIES, Dependency, credential_owner
from sprocket_infra.catalog.placeholders import PLACEHOLDER
from sprocket_infra.config.fields import Count, DomainName, Flag, ImageRef

ServiceKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
QueueKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")]
SecretName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
FileStem = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
Port = Annotated[Count, Field(ge=1, le=65535)]
Capability = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
ContainerPath = Annotated[str, Field(pattern=r"^/[^\s]*$")]

ALPHA_GATE_RULE = "AlphaTesters"
"""Forward-auth rule of ``alpha_gate`` routes where the environment sets ``platform.alpha_restrictions``."""


@dataclass(frozen=True, kw_only=True)
class SectionNeeds:
    """What a config section reads: layer2 dependencies the entry must use, other entries it names."""

    dependencies: frozenset[Dependency] = frozenset()
    public_services: frozenset[str] = frozenset()
    """Entries whose public URL it writes; they need a route."""
    internal_services: frozenset[str] = frozenset()
    """Entries it calls over the overlay; they need a port and a network shared with the caller."""


@dataclass(frozen=True, kw_only=True)
class Vocabulary:
    """Names an entry may refer to; passed as the validation context."""

    secrets: frozenset[str]
    """Stable names of secrets an entry may list under ``secrets`` (operator-provided ones)."""
    sections: Mapping[str, SectionNeeds] = field(default_factory=dict)
    """Config sections an entry may list, with what each needs."""

    @property
    def delivered_by(self) -> Mapping[Dependency, str]:
        """For each dependency, the shared section that carries only its settings (``db`` for postgres),
        named in the fix when an entry uses the dependency but no section or placeholder carries it."""
        return {
            dependency: name
            for dependency in DEPENDENCIES
            for name, needs in self.sections.items()
            if needs.dependencies == {dependency} and not (needs.public_services or needs.internal_services)
        }


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not fall back to a default); entries are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Queue(Strict):
    """A RabbitMQ queue apps look up by ``<key>_queue`` in their transport settings."""

    name: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9-]*$",
        description="Queue name before the environment prefix. Left out: the key with '_' as '-'.",
    )
    external: Flag = Field(
        False, description="Published from outside the catalog, so no entry needs to publish it."
    )


class Route(Strict):
    """One public router: a subdomain of the environment's domain, or the domain itself."""

    name: ServiceKey | None = Field(
        None, description="Suffix of the router name; required when an entry has several routes."
    )
    subdomain: DomainName | None = Field(
        None, description="Answers on '<subdomain>.<domain>'. Give this or apex."
    )
    apex: Flag = Field(False, description="Answers on the domain itself (the web app).")
    port: Port | None = Field(None, description="Container port. Left out: the entry's port.")
    forward_auth: str | None = Field(
        None,
        pattern=r"^[A-Z][A-Za-z]+$",
        description="Discord forward-auth rule every request must pass (e.g. EloTeam). Left out: open.",
    )
    alpha_gate: Flag = Field(
        False,
        description="Behind the AlphaTesters rule in environments with platform.alpha_restrictions.",
    )
    answers_on_ips: Flag = Field(
        False,
        description="Also answers on the environment's LAN and Tailscale IPs; one route at most.",
    )

    @model_validator(mode="after")
    def _one_host(self) -> Route:
        if self.apex == (self.subdomain is not None):
            raise ValueError("give exactly one of 'subdomain' or 'apex: true'")
        return self


class Healthcheck(Strict):
    """How Swarm tells a healthy task; an unhealthy one is replaced and a bad update rolled back."""

    http: str | None = Field(
        None,
        pattern=r"^/",
        description="Path answered below status 500 on the entry's port (probed with the image's node).",
    )
    command: tuple[str, ...] | None = Field(
        None, min_length=2, description="Docker form, e.g. ['CMD', 'curl', '-fs', 'http://localhost/']."
    )
    connected_to: Literal["redis", "rabbitmq"] | None = Field(
        None,
        description="Healthy while the task holds an open connection to this dependency: for workers that "
        "serve no HTTP, a dropped broker connection is the failure that matters.",
    )
    interval_s: Count = Field(30, ge=1)
    timeout_s: Count = Field(5, ge=1)
    retries: Count = Field(3, ge=1)
    start_period_s: Count = Field(60, ge=0, description="Grace after start. Left out: 60 s (apps migrate).")

    @model_validator(mode="after")
    def _one_probe(self) -> Healthcheck:
        if [self.http, self.command, self.connected_to].count(None) != 2:
            raise ValueError("give exactly one of 'http', 'command' or 'connected_to'")
        if self.command is not None and self.command[0] not in ("CMD", "CMD-SHELL"):
            raise ValueError(f"command must start with 'CMD' or 'CMD-SHELL' (got {self.command[0]!r})")
        return self


class Resources(Strict):
    cpus: Annotated[PositiveFloat, StrictMode()] = Field(
        0.5, le=16, description="CPU limit. Left out: half a core."
    )
    memory_mib: Count = Field(512, ge=16, le=65536, description="Memory limit. Left out: 512 MiB.")


class Security(Strict):
    """How the service runs in its container. Every catalog service drops all Linux capabilities."""

    user: str | None = Field(
        None,
        pattern=r"^[0-9]+:[0-9]+$",
        description="uid:gid to run as (not uid 0), e.g. '1000:1000' for node in node:*-alpine images; "
        "it also owns the service's secret files (mode 0400). Left out: the image's own user, and "
        "secret files readable by any uid (0444).",
    )
    read_only: Flag = Field(False, description="Read-only root filesystem. Left out: writable.")
    tmpfs: tuple[ContainerPath, ...] = Field(
        (), description="Paths outside the volume the service writes to, each a 64 MiB tmpfs. Left out: none."
    )
    cap_add: tuple[Capability, ...] = Field(
        (), description="Capabilities given back after dropping all (e.g. NET_BIND_SERVICE). Left out: none."
    )

    @field_validator("user")
    @classmethod
    def _not_root(cls, user: str | None) -> str | None:
        if user is not None and user.split(":", 1)[0] == "0":
            raise ValueError(f"user {user!r} is root; leave 'user' out to keep the image's own user")
        return user

    @property
    def uid_gid(self) -> tuple[int, int] | None:
        if self.user is None:
            return None
        uid, gid = self.user.split(":", 1)
        return int(uid), int(gid)


class AppConfig(Strict):
    """The JSON settings file the app reads, assembled from named sections."""

    path: str = Field(pattern=r"^/[^\s]*\.json$", description="Where the app reads it in the container.")
    sections: tuple[str, ...] = Field(description="Section names, merged in this order.")


TOKEN_PLACEHOLDER = "token"  # noqa: S105 - the name of a placeholder, not a token
"""What stands for the generated token in an ``admin_token.template``."""


class AdminToken(Strict):
    """A random admin token layer2 generates for the entry and keeps in Vault (never in a command line, an
    environment variable or the plan's JSON): the server reads it from a config file handed to it as a
    Docker secret, its clients from a secret file."""

    config: str = Field(
        pattern=r"^/[^\s]*\.(yaml|yml|json)$",
        description="Where the server finds the config file in its container (point its --config there).",
    )
    template: str = Field(
        description="The config file: '{token}' (once) stands for the token; the entry's placeholders "
        "(e.g. {networks[dgraph].subnet}) may appear too.",
    )
    clients: tuple[ServiceKey, ...] = Field(
        (),
        description="Entries that send the token, each given it as /app/secret/<this entry>-admin-token.txt. "
        "Left out: nobody but the server.",
    )

    @field_validator("template")
    @classmethod
    def _one_token(cls, template: str) -> str:
        if PLACEHOLDER.findall(template).count(TOKEN_PLACEHOLDER) != 1:
            raise ValueError(f"the template must hold {{{TOKEN_PLACEHOLDER}}} exactly once")
        return template


class ServiceEntry(Strict):
    """One service of the platform. Every field but ``description`` and ``healthcheck`` has a default."""

    description: str = Field(min_length=1, description="What it does; shown in reviews and diagrams.")
    repository: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9._/-]*$",
        description="App image repository under the environment's registry, run at its pinned tag. "
        "Give this or image.",
    )
    image: ImageRef | None = Field(None, description="Third-party image with a pinned tag or digest.")
    port: Port | None = Field(None, description="Port the service listens on. Left out: it listens on none.")
    routes: tuple[Route, ...] = Field((), description="Public routers. Left out: not reachable by Traefik.")
    uses: tuple[Dependency, ...] = Field(
        (), description="layer2 dependencies; each brings its settings section and credentials."
    )
    database: Literal["platform"] = Field(
        "platform",
        description="With 'uses: [postgres]': the PostgreSQL database it works in. Entries naming the same "
        "one share its tables and its one login, so each says which it shares (every app shares "
        "'platform', sprocket_<env>: layer2 hands the platform no other login). Left out: 'platform'.",
    )
    consumes: tuple[QueueKey, ...] = Field((), description="Queues it takes work from.")
    publishes: tuple[QueueKey, ...] = Field((), description="Queues it sends work to.")
    secrets: dict[SecretName, FileStem] = Field(
        default_factory=dict,
        description="Operator-provided secret name -> file stem under /app/secret (<stem>.txt).",
    )
    config: AppConfig | None = Field(None, description="Settings file. Left out: the app gets none.")
    env: dict[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")], str] = Field(
        default_factory=dict, description="Plain settings; never secrets. May hold {placeholders}."
    )
    command: tuple[str, ...] | None = Field(
        None, min_length=1, description="Overrides the image's command. May hold {placeholders}."
    )
    networks: tuple[ServiceKey, ...] = Field(
        ("platform",),
        min_length=1,
        description="Platform overlays it joins, by purpose. Left out: the shared 'platform' one.",
    )
    volume: str | None = Field(
        None,
        pattern=r"^/",
        description="Container path of a named data volume; makes the service stateful (one task, "
        "stop-first, on the storage nodes). Left out: no volume.",
    )
    replicas: Count = Field(1, ge=0, le=20, description="Tasks to run. Left out: 1.")
    resources: Resources = Field(default_factory=Resources)
    healthcheck: Healthcheck
    security: Security = Field(
        default_factory=Security,
        description="User, read-only root, tmpfs paths, capabilities. Left out: the image's user, a "
        "writable root, no capabilities.",
    )
    admin_token: AdminToken | None = Field(
        None,
        description="A generated admin token, for a server that reads it from a config file. Left out: none.",
    )
    rollout: Literal["start-first", "stop-first"] = Field(
        "start-first",
        description="'stop-first' where two running tasks would do the work twice (the bot, consumers "
        "of fan-out events). Left out: 'start-first', no downtime on updates.",
    )

    @field_validator("secrets")
    @classmethod
    def _known_secrets(cls, secrets: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        vocabulary = _vocabulary(info)
        problems = []
        for name in secrets:
            owner = credential_owner(name)
            if owner is not None:
                problems.append(f"{name!r} comes with 'uses: [{owner}]'; do not list it")
            elif vocabulary is not None and name not in vocabulary.secrets:
                problems.append(f"unknown secret {name!r} (known: {', '.join(sorted(vocabulary.secrets))})")
        if problems:
            raise ValueError("; ".join(problems))
        return secrets

    @field_validator("config")
    @classmethod
    def _known_sections(cls, config: AppConfig | None, info: ValidationInfo) -> AppConfig | None:
        vocabulary = _vocabulary(info)
        if config is None or vocabulary is None:
            return config
        unknown = [name for name in config.sections if name not in vocabulary.sections]
        if unknown:
            raise ValueError(f"unknown sections {unknown} (known: {', '.join(sorted(vocabulary.sections))})")
        return config

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> ServiceEntry:
        problems = [
            *self._image_problems(),
            *self._dependency_problems(_vocabulary(info)),
            *self._rollout_problems(),
            *self._file_problems(),
            *self._route_problems(),
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # --- derived facts --------------------------------------------------------------------------------

    @property
    def secret_files(self) -> dict[str, str]:
        """Every secret the service mounts (implied by ``uses``, then listed) -> its file stem."""
        implied = {item.name: item.file for dependency in self.uses for item in CREDENTIALS[dependency]}
        return implied | self.secrets

    @property
    def stateful(self) -> bool:
        return self.volume is not None

    @property
    def placeholders(self) -> tuple[str, ...]:
        """Every ``{placeholder}`` in ``env``, ``command`` and the admin token's config template (but the
        token's own)."""
        texts = [*self.env.values(), *(self.command or ())]
        found = [name for text in texts for name in PLACEHOLDER.findall(text)]
        if self.admin_token is not None:
            found += [
                name for name in PLACEHOLDER.findall(self.admin_token.template) if name != TOKEN_PLACEHOLDER
            ]
        return tuple(found)

    @property
    def referenced_services(self) -> frozenset[str]:
        """Entries this one names in ``{services[...]}`` placeholders."""
        parsed = (placeholders.parse(item) for item in self.placeholders)
        return frozenset(item.service for item in parsed if item is not None and item.service)

    # --- checks ---------------------------------------------------------------------------------------

    def _image_problems(self) -> list[str]:
        if (self.repository is None) == (self.image is None):
            return ["give exactly one of 'repository' (an app image) or 'image' (a pinned third-party one)"]
        return []

    def _dependency_problems(self, vocabulary: Vocabulary | None) -> list[str]:
        problems = []
        if (self.consumes or self.publishes) and "rabbitmq" not in self.uses:
            problems.append("consumes or publishes queues, so 'uses' must include rabbitmq")
        if "database" in self.model_fields_set and "postgres" not in self.uses:
            problems.append("names a PostgreSQL database, so 'uses' must include postgres")
        for name in self.placeholders:
            placeholder = placeholders.parse(name)
            if placeholder is None:
                problems.append(f"unknown placeholder {{{name}}} (known: {placeholders.known()})")
            elif placeholder.dependency is not None and placeholder.dependency not in self.uses:
                problems.append(f"placeholder {{{name}}} needs 'uses: [{placeholder.dependency}]'")
            elif placeholder.network is not None and placeholder.network not in self.networks:
                problems.append(f"placeholder {{{name}}} needs 'networks: [{placeholder.network}]'")
        if vocabulary is None:
            return problems
        sections = self.config.sections if self.config is not None else ()
        for section in sections:
            needs = vocabulary.sections.get(section, SectionNeeds())
            missing = sorted(needs.dependencies - set(self.uses))
            if missing:
                problems.append(f"config section {section!r} needs 'uses: {missing}'")
        return problems + self._delivery_problems(vocabulary, sections)

    def _delivery_problems(self, vocabulary: Vocabulary, sections: tuple[str, ...]) -> list[str]:
        """What the entry declares must reach the app: queues only travel in the transport section (its
        ``<key>_queue`` names), and a dependency's address and credentials in a section that reads it
        or in a placeholder; otherwise the app is given a secret it has no setting to find."""
        problems = []
        transport = vocabulary.delivered_by.get("rabbitmq")
        if (self.consumes or self.publishes) and transport is not None and transport not in sections:
            problems.append(
                f"consumes or publishes queues, which the app finds only in the {transport!r} settings "
                f"section: add it to config.sections"
            )
        reached = {
            dep
            for section in sections
            for dep in vocabulary.sections.get(section, SectionNeeds()).dependencies
        }
        reached |= {
            item.dependency for item in map(placeholders.parse, self.placeholders) if item and item.dependency
        }
        for dependency in self.uses:
            if dependency not in reached:
                section = vocabulary.delivered_by.get(dependency)
                how = f"add {section!r} to config.sections" if section else "read it through a placeholder"
                problems.append(f"'uses: [{dependency}]' but nothing tells the app where it is: {how}")
        return problems

    def _rollout_problems(self) -> list[str]:
        problems = []
        if self.rollout == "stop-first" and self.replicas > 1:
            problems.append(f"rollout 'stop-first' means one task at a time, but replicas is {self.replicas}")
        if self.volume is not None and (self.rollout != "stop-first" or self.replicas > 1):
            problems.append("a service with a volume needs 'rollout: stop-first' and at most one replica")
        return problems

    def _file_problems(self) -> list[str]:
        stems = list(self.secret_files.values())
        shared = sorted({stem for stem in stems if stems.count(stem) > 1})
        problems = [f"secrets share file names {shared}"] if shared else []
        tmpfs = list(self.security.tmpfs)
        if self.volume in tmpfs or len(set(tmpfs)) != len(tmpfs):
            problems.append(f"security.tmpfs {tmpfs} repeats a path or the volume's ({self.volume})")
        return problems

    def _route_problems(self) -> list[str]:
        problems = []
        if any(route.port is None for route in self.routes) and self.port is None:
            problems.append("routes need a port: set 'port' (or one on each route)")
        if self.healthcheck.http is not None and self.port is None:
            problems.append("an http healthcheck needs 'port'")
        if self.healthcheck.connected_to not in (None, *self.uses):
            problems.append(f"the healthcheck watches {self.healthcheck.connected_to}, which 'uses' lacks")
        names = [route.name for route in self.routes]
        if len(self.routes) > 1 and (None in names or len(set(names)) != len(names)):
            problems.append("several routes need distinct 'name's")
        return problems


def _vocabulary(info: ValidationInfo) -> Vocabulary | None:
    context = info.context
    return context if isinstance(context, Vocabulary) else None


class CatalogDocument(Strict):
    """The file's top level; entries are validated one by one so one bad entry hides no other error."""

    queues: dict[QueueKey, Queue] = Field(default_factory=dict, description="Every queue, by config key.")
    services: dict[ServiceKey, object] = Field(description="Entries by key; the key names the service.")


@dataclass(frozen=True, kw_only=True)
class Catalog:
    """A checked catalog: every reference inside resolves."""

    source: str
    """The file it came from, for messages."""
    queues: Mapping[str, Queue]
    services: Mapping[str, ServiceEntry]

    def queue_name(self, key: str) -> str:
        """RabbitMQ name of queue ``key`` before the environment prefix."""
        return self.queues[key].name or key.replace("_", "-")
