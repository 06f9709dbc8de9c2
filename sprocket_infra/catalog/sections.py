"""What each settings section an entry may list under ``config.sections`` reads: plain data.

:mod:`sprocket_infra.platform_config.sections` holds how each section is written; this table says what
it needs (layer2 dependencies, other entries by public URL or over the overlay), so checking a catalog
needs neither the section builders nor anything they import (cdktf, the provider bindings).
"""

from __future__ import annotations

from collections.abc import Mapping

from sprocket_infra.catalog.dependencies import Dependency
from sprocket_infra.catalog.model import SectionNeeds


def _needs(
    *dependencies: Dependency, public: tuple[str, ...] = (), internal: tuple[str, ...] = ()
) -> SectionNeeds:
    return SectionNeeds(
        dependencies=frozenset(dependencies),
        public_services=frozenset(public),
        internal_services=frozenset(internal),
    )


SECTION_NEEDS: Mapping[str, SectionNeeds] = {
    "logger": _needs(),
    "transport": _needs("rabbitmq"),
    "redis": _needs("redis"),
    "minio": _needs("s3"),
    "db": _needs("postgres"),
    "influx": _needs("influx"),
    "bot": _needs(),
    "gql-client": _needs(internal=("core",)),
    "web-url": _needs(public=("web",)),
    "core": _needs(public=("core", "web")),
    "web-client": _needs(public=("core",)),
    "image-generation-frontend": _needs("s3", "postgres"),
    "replay-parse": _needs("rabbitmq", "redis", "s3"),
}
"""Every section a catalog entry may list, with what it needs."""
