"""Value types shared by every section: DNS names, image references, addresses, and the strict base model."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)*{_LABEL}$")
_FLOATING_TAGS = frozenset({"latest", "main", "master", "edge", "stable", "dev", "nightly"})
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_TAILSCALE_NET = ipaddress.IPv4Network("100.64.0.0/10")
_REGISTRY_RE = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_DOCKER_HUB_PREFIXES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


class Strict(BaseModel):
    """Base for every config model: unknown keys are errors and loaded settings are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _domain(value: str) -> str:
    if not _DOMAIN_RE.match(value) or len(value) > 253:
        raise ValueError("expected a lower-case DNS name such as 'sprocket.example.com' or 'localhost'")
    return value


def _image_tag(value: str) -> str:
    if value in _FLOATING_TAGS or not _TAG_RE.match(value):
        raise ValueError(
            "expected a pinned image tag such as 'v1.4.2' or 'sha-3f2a1bc' "
            f"(floating tags {sorted(_FLOATING_TAGS)} would roll services on every deploy)"
        )
    return value


def _image(value: str) -> str:
    """``repo[:tag]`` with a pinned tag, or ``repo@sha256:<digest>``."""
    if "@sha256:" in value:
        if not re.fullmatch(r"[^@\s]+@sha256:[0-9a-f]{64}", value):
            raise ValueError("expected 'repository@sha256:<64 hex digits>'")
        return value
    repository, sep, tag = value.rpartition(":")
    if not sep or "/" in tag:
        raise ValueError(f"expected 'repository:tag' with a pinned tag, got no tag in {value!r}")
    _image_tag(tag)
    if not repository:
        raise ValueError("expected 'repository:tag'")
    _not_docker_hub_prefixed(value)
    return value


def _not_docker_hub_prefixed(value: str) -> None:
    """Swarm keeps Docker Hub references in their short form (``org/app:tag``) and the provider reads
    them back that way, so a ``docker.io/`` prefix would show as a change of every service on every plan."""
    if value.startswith(_DOCKER_HUB_PREFIXES):
        short = value.split("/", 1)[1].removeprefix("library/")
        raise ValueError(f"write Docker Hub references without the registry host: {short!r}")


def _registry(value: str) -> str:
    if not _REGISTRY_RE.match(value):
        raise ValueError(
            "expected a lower-case registry and namespace such as 'asaxplayinghorse' (Docker Hub) or "
            "'ghcr.io/sprocketbot' (no scheme, no trailing '/')"
        )
    _not_docker_hub_prefixed(value)
    return value


def _tailscale_ip(value: ipaddress.IPv4Address) -> ipaddress.IPv4Address:
    if value not in _TAILSCALE_NET:
        raise ValueError(f"expected a Tailscale address inside {_TAILSCALE_NET}")
    return value


DomainName = Annotated[str, AfterValidator(_domain)]
ImageRef = Annotated[str, AfterValidator(_image)]
ImageTag = Annotated[str, AfterValidator(_image_tag)]
ImageRegistry = Annotated[str, AfterValidator(_registry)]
TailscaleIp = Annotated[ipaddress.IPv4Address, AfterValidator(_tailscale_ip)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
ServiceKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
