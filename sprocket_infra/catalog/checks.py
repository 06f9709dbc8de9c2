"""Checks that look across catalog entries: queues, hosts and references between entries.

Each rule returns ``(key path, message)`` pairs and never stops at the first one, so an operator fixing the
file sees every problem in one run. The rules table at the bottom is the whole list.

Entries that failed their own validation are passed as ``unchecked`` (their keys): rules stay quiet about
references to them rather than report a second, misleading error (``core`` missing because its port was
wrong); the dangling-queue rule still counts what they publish, as far as the raw data says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from sprocket_infra.catalog.model import ALPHA_GATE_RULE, Catalog, Queue, ServiceEntry, Vocabulary
from sprocket_infra.config import ConfigError, Environment

Problem = tuple[str, str]
Entries = Mapping[str, ServiceEntry]


@dataclass(frozen=True, kw_only=True)
class CatalogView:
    queues: Mapping[str, Queue]
    entries: Entries
    """Entries that passed their own validation."""
    unchecked: Mapping[str, object]
    """Raw data of the entries that did not."""

    def published(self) -> set[str]:
        raw = [entry.get("publishes") for entry in self.unchecked.values() if isinstance(entry, dict)]
        guessed = {
            queue for queues in raw if isinstance(queues, list) for queue in queues if isinstance(queue, str)
        }
        return guessed | {queue for entry in self.entries.values() for queue in entry.publishes}


def _queue_problems(view: CatalogView, _: Vocabulary) -> Iterator[Problem]:
    queues, published = view.queues, view.published()
    for key, entry in view.entries.items():
        for field in ("consumes", "publishes"):
            for index, queue in enumerate(getattr(entry, field)):
                if queue not in queues:
                    yield (
                        f"services.{key}.{field}.{index}",
                        f"unknown queue {queue!r}: declare it under 'queues' "
                        f"(known: {', '.join(sorted(queues))})",
                    )
        for index, queue in enumerate(entry.consumes):
            if queue in queues and queue not in published and not queues[queue].external:
                yield (
                    f"services.{key}.consumes.{index}",
                    f"queue {queue!r} is consumed but no service publishes it "
                    "(add a publisher, or mark it 'external: true' under 'queues')",
                )


def _host_problems(view: CatalogView, _: Vocabulary) -> Iterator[Problem]:
    first_owner: dict[str, str] = {}
    on_ips: list[str] = []
    for key, entry in view.entries.items():
        for index, route in enumerate(entry.routes):
            path = f"services.{key}.routes.{index}"
            host = "(apex)" if route.apex else str(route.subdomain)
            if host in first_owner:
                yield path, f"host {host} is already routed to {first_owner[host]}"
            else:
                first_owner[host] = path
            if route.answers_on_ips:
                on_ips.append(path)
    for path in on_ips[1:]:
        yield (
            f"{path}.answers_on_ips",
            f"only one route may answer on the environment's IPs; {on_ips[0]} already does "
            "(an IP can't tell two services apart)",
        )


def _reference_problems(view: CatalogView, vocabulary: Vocabulary) -> Iterator[Problem]:
    entries = view.entries
    for key, entry in entries.items():
        for name in sorted(entry.referenced_services - set(view.unchecked)):
            yield from _callable(entries, key, name, f"services.{key}", "a placeholder")
        clients = entry.admin_token.clients if entry.admin_token is not None else ()
        for index, client in enumerate(clients):
            if client not in entries and client not in view.unchecked:
                yield (
                    f"services.{key}.admin_token.clients.{index}",
                    f"unknown service {client!r} (known: {', '.join(sorted(entries))})",
                )
        if entry.config is None:
            continue
        for section in entry.config.sections:
            needs = vocabulary.sections.get(section)
            if needs is None:
                continue
            where = f"services.{key}.config.sections"
            for name in sorted(needs.public_services - set(view.unchecked)):
                if name not in entries or not entries[name].routes:
                    yield where, f"section {section!r} writes the public URL of {name!r}, which has no route"
            for name in sorted(needs.internal_services - set(view.unchecked)):
                yield from _callable(entries, key, name, where, f"section {section!r}")


def _callable(entries: Entries, caller: str, name: str, path: str, what: str) -> Iterator[Problem]:
    """``caller`` reaches ``name`` over an overlay: it must exist, listen on a port and share a network."""
    target = entries.get(name)
    if target is None:
        yield path, f"{what} names service {name!r}, which is not in the catalog"
    elif target.port is None:
        yield path, f"{what} calls service {name!r}, which has no port"
    elif not set(target.networks) & set(entries[caller].networks):
        yield path, f"{what} calls service {name!r}, which shares no network with {caller!r}"


Rule = Callable[[CatalogView, Vocabulary], Iterator[Problem]]
RULES: tuple[Rule, ...] = (_queue_problems, _host_problems, _reference_problems)


def catalog_problems(view: CatalogView, vocabulary: Vocabulary) -> list[Problem]:
    """Every cross-entry problem, rule by rule, in file order."""
    return [problem for rule in RULES for problem in rule(view, vocabulary)]


def check_environment(catalog: Catalog, environment: Environment, *, source: str | None = None) -> None:
    """Raise :class:`ConfigError` naming every line of the environment file that does not fit the catalog;
    ``source`` is the file as it was read (left out: the repository's ``config/<name>.yaml``)."""
    problems = environment_problems(catalog, environment)
    if problems:
        source = source or f"config/{environment.name}.yaml"
        raise ConfigError("\n".join(f"{source}: {path}: {message}" for path, message in problems))


def environment_problems(catalog: Catalog, environment: Environment) -> list[Problem]:
    """What in an environment's file does not fit the catalog: per-service overrides of unknown or
    single-task services, and forward-auth rules the environment's forward-auth does not define."""
    return [
        *_tag_problems(catalog, environment),
        *_replica_problems(catalog, environment),
        *_rule_problems(catalog, environment),
    ]


def _tag_problems(catalog: Catalog, environment: Environment) -> Iterator[Problem]:
    for key in environment.platform.image_tags:
        entry = catalog.services.get(key)
        if entry is None or entry.repository is None:
            yield f"platform.image_tags.{key}", f"no app image {key!r} in the catalog ({catalog.source})"


def _replica_problems(catalog: Catalog, environment: Environment) -> Iterator[Problem]:
    for key, replicas in environment.platform.replicas.items():
        entry = catalog.services.get(key)
        if entry is None:
            yield f"platform.replicas.{key}", f"no service {key!r} in the catalog ({catalog.source})"
        elif replicas > 1 and entry.rollout == "stop-first":
            yield (
                f"platform.replicas.{key}",
                f"{key} runs one task at a time (rollout: stop-first), got {replicas}",
            )


def _rule_problems(catalog: Catalog, environment: Environment) -> Iterator[Problem]:
    defined = {rule.name for rule in environment.layer2.forward_auth.rules}
    for key, entry in catalog.services.items():
        for index, route in enumerate(entry.routes):
            wanted = [route.forward_auth] if route.forward_auth else []
            if route.alpha_gate and environment.platform.alpha_restrictions:
                wanted.append(ALPHA_GATE_RULE)
            for rule in wanted:
                if rule not in defined:
                    yield (
                        "layer2.forward_auth.rules",
                        f"services.{key}.routes.{index} ({catalog.source}) needs rule {rule!r}, "
                        f"which is not defined (defined: {', '.join(sorted(defined))})",
                    )
