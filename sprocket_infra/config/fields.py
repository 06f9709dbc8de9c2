"""Value types shared by every section: DNS names, image references, addresses, and the strict base model."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic import Strict as StrictMode

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)*{_LABEL}$")
_FLOATING_TAGS = frozenset({"latest", "main", "master", "edge", "stable", "dev", "nightly"})
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
TAILSCALE_NET = ipaddress.IPv4Network("100.64.0.0/10")
_REGISTRY_RE = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_DOCKER_HUB_PREFIXES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


class Strict(BaseModel):
    """Base for every config model: unknown keys are errors and loaded settings are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _emptied_section(cls, data: Any) -> Any:
        """A section written with nothing under it (``swarm:``) is YAML's null: read it as no settings,
        so every key takes its default, as when the section is left out."""
        return {} if data is None else data


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
    _repository(repository)
    _not_docker_hub_prefixed(value)
    return value


# Source: distribution/reference (reference.go's grammar, the one Docker parses references with): path
# components of lower-case letters and digits joined by '.', '_', '__' or dashes; an optional first
# component that is a registry host (it has a '.' or ':' or is 'localhost'); at most 255 characters.
_PATH_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")
_REGISTRY_HOST_RE = re.compile(
    r"^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
    r"(?::[0-9]+)?$"
)


def _repository(repository: str) -> None:
    if len(repository) > 255:
        raise ValueError("image repository longer than 255 characters")
    first, _, rest = repository.partition("/")
    components = repository.split("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        if not _REGISTRY_HOST_RE.match(first):
            raise ValueError(f"registry host {first!r} is not a valid host[:port]")
        components = rest.split("/")
    bad = [part for part in components if not _PATH_COMPONENT_RE.match(part)]
    if bad:
        raise ValueError(
            f"repository part {bad[0]!r}: expected lower-case letters and digits joined by '.', '_' or '-'"
        )


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
    if value not in TAILSCALE_NET:
        raise ValueError(f"expected a Tailscale address inside {TAILSCALE_NET}")
    return value


DomainName = Annotated[str, AfterValidator(_domain)]
ImageRef = Annotated[str, AfterValidator(_image)]
ImageTag = Annotated[str, AfterValidator(_image_tag)]
ImageRegistry = Annotated[str, AfterValidator(_registry)]
TailscaleIp = Annotated[ipaddress.IPv4Address, AfterValidator(_tailscale_ip)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
ServiceKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]


# --- engine rules ---------------------------------------------------------------------------------
# Each rule below is what the engine that reads the value enforces; the comment names where it is stated.

Count = Annotated[int, StrictMode()]
"""An integer written as a number: ``true`` is not 1 (pydantic's lax mode would read it as 1)."""
Flag = Annotated[bool, StrictMode()]
"""``true`` or ``false``: not 1, not the string 'yes' (pydantic's lax mode would accept both)."""


def _digits(value: object) -> object:
    """Ids written unquoted (``client_id: 846086564479631372``) are read as numbers; take them as text.
    Booleans are not numbers here."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


DigitString = Annotated[str, BeforeValidator(_digits), Field(pattern=r"^[0-9]+$")]
"""Digits only, quoted or not: Discord snowflakes, droplet ids, PostgreSQL major versions."""

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(value: str) -> str | None:
    """Why S3 (and Spaces, which follows it) refuses ``value`` as a bucket name, or None.

    Source: AWS S3 User Guide, "General purpose bucket naming rules": 3-63 characters of lower-case
    letters, digits, '.' and '-', starting and ending with a letter or digit, no '..', not shaped like an
    IPv4 address, none of the reserved prefixes and suffixes.
    """
    if not _BUCKET_RE.match(value):
        return (
            "expected 3-63 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit"
        )
    if ".." in value:
        return "two adjacent periods"
    if _is_ipv4(value):
        return "shaped like an IP address"
    if value.startswith(_BUCKET_RESERVED_PREFIXES) or value.endswith(_BUCKET_RESERVED_SUFFIXES):
        return (
            f"reserved prefix or suffix ({', '.join(_BUCKET_RESERVED_PREFIXES + _BUCKET_RESERVED_SUFFIXES)})"
        )
    return None


def _is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _bucket(value: str) -> str:
    problem = bucket_name_problem(value)
    if problem:
        raise ValueError(f"not a valid S3/Spaces bucket name: {problem}")
    return value


BucketName = Annotated[str, AfterValidator(_bucket)]

DIGITALOCEAN_REGIONS = frozenset(
    {"nyc1", "nyc2", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1", "atl1"}
)
"""Source: DigitalOcean "Regional Availability" (docs.digitalocean.com/platform/regional-availability/);
regions that are retired for new resources (sfo1, ams2) are left out."""
SPACES_REGIONS = frozenset(
    {"nyc3", "sfo2", "sfo3", "ams3", "sgp1", "fra1", "syd1", "blr1", "lon1", "tor1", "atl1"}
)
"""The regions that offer Spaces (same source); each is the ``<region>.digitaloceanspaces.com`` endpoint."""


def _region(value: str) -> str:
    if value not in DIGITALOCEAN_REGIONS:
        raise ValueError(f"unknown DigitalOcean region (known: {', '.join(sorted(DIGITALOCEAN_REGIONS))})")
    return value


DigitalOceanRegion = Annotated[str, AfterValidator(_region)]

_SPACES_HOST_RE = re.compile(r"^https://([a-z0-9]+)\.digitaloceanspaces\.com/?$")


def spaces_endpoint_problem(endpoint: str) -> str | None:
    """Why ``endpoint`` is no Spaces endpoint of a Spaces region, or None for any other (AWS, MinIO) URL."""
    match = _SPACES_HOST_RE.match(endpoint)
    if match is None:
        if "digitaloceanspaces.com" in endpoint:
            return "expected 'https://<region>.digitaloceanspaces.com'"
        return None
    if match[1] not in SPACES_REGIONS:
        return f"{match[1]!r} offers no Spaces (Spaces regions: {', '.join(sorted(SPACES_REGIONS))})"
    return None


def _endpoint(value: str) -> str:
    if not value.startswith("https://"):
        raise ValueError("expected an https:// URL")
    problem = spaces_endpoint_problem(value)
    if problem:
        raise ValueError(problem)
    return value


S3Endpoint = Annotated[str, AfterValidator(_endpoint)]

# Swarm constraint grammar. Source: swarmkit manager/constraint/constraint.go: one of the operators '=='
# or '!=', a key matching [a-z_][a-z0-9-_.]+ (case-insensitive), a value of letters, digits and a few
# punctuation marks; keys other than these never match a node, so the task would never be scheduled.
_CONSTRAINT_KEY_RE = re.compile(r"^[a-z_][a-z0-9_.-]+$", re.IGNORECASE)
_CONSTRAINT_VALUE_RE = re.compile(r"^[a-z0-9:\-_\s.*()?+\[\]\\^$|/]+$", re.IGNORECASE)
_CONSTRAINT_KEYS = (
    "node.id",
    "node.hostname",
    "node.ip",
    "node.role",
    "node.platform.os",
    "node.platform.arch",
)
_CONSTRAINT_PREFIXES = ("node.labels.", "engine.labels.")


def _constraint(value: str) -> str:
    operator = next((op for op in ("==", "!=") if op in value), None)
    if operator is None:
        raise ValueError("expected '<key>==<value>' or '<key>!=<value>', e.g. 'node.role==manager'")
    key, _, expected = (part.strip() for part in value.partition(operator))
    known = key.lower() in _CONSTRAINT_KEYS or (
        key.lower().startswith(_CONSTRAINT_PREFIXES) and len(key) > len("node.labels.")
    )
    if not _CONSTRAINT_KEY_RE.match(key) or not known:
        raise ValueError(
            f"unknown constraint key {key!r} (expected {', '.join(_CONSTRAINT_KEYS)} or node.labels.<label>)"
        )
    if not _CONSTRAINT_VALUE_RE.match(expected):
        raise ValueError(f"constraint value {expected!r} has characters Swarm refuses")
    if key.lower() == "node.role" and expected.lower() not in ("manager", "worker"):
        raise ValueError("node.role is 'manager' or 'worker'")
    return value


PlacementConstraint = Annotated[str, AfterValidator(_constraint)]

_SYSTEM_DIRS = frozenset(
    [
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",  # noqa: S108 - refused, never used
        "/usr",
        "/var",
        "/var/lib",
        "/var/run",
        "/var/tmp",  # noqa: S108 - refused, never used
        "/var/log",
    ]
)
_NEVER_BELOW = ("/proc/", "/sys/", "/dev/", "/boot/", "/etc/", "/usr/", "/bin/", "/sbin/", "/lib/", "/run/")


def _keys_dir(value: str) -> str:
    """A host directory that only the keys live in: the entrypoint sets its mode to 0700 and writes
    there, so a system directory would lose its permissions (or its contents to a restore)."""
    if not value.startswith("/") or any(part in ("", ".", "..") for part in value.rstrip("/").split("/")[1:]):
        raise ValueError(
            "expected an absolute path without '.', '..' or '//', e.g. /var/lib/sprocket/vault-keys"
        )
    normal = value.rstrip("/") or "/"
    if normal in _SYSTEM_DIRS or (normal + "/").startswith(_NEVER_BELOW):
        raise ValueError(
            f"{normal} is a system directory; use one of its own, e.g. /var/lib/sprocket/vault-keys"
        )
    return normal


KeysDir = Annotated[str, AfterValidator(_keys_dir)]

_SPECIAL_USE_SUFFIXES = (
    "localhost", "local", "lan", "home", "internal", "intranet", "corp", "private", "home.arpa", "test",
    "example", "invalid", "onion", "alt",
)  # fmt: skip


def public_dns_problem(domain: str) -> str | None:
    """Why Let's Encrypt would refuse to issue for ``domain``, or None.

    Source: Let's Encrypt issues only for names under a public suffix (boulder's policy authority
    rejects special-use and non-ICANN TLDs); the special-use names are RFC 6761 (localhost, test,
    example, invalid), RFC 6762 (local), RFC 8375 (home.arpa), RFC 7686 (onion), RFC 9476 (alt) and
    ICANN's reserved 'internal', plus names home networks use that have no public TLD.
    """
    labels = domain.split(".")
    if len(labels) < 2:
        return "a single-label name"
    tail = ".".join(labels[-2:]) if domain.endswith(".home.arpa") else labels[-1]
    if tail in _SPECIAL_USE_SUFFIXES or labels[-1] in _SPECIAL_USE_SUFFIXES:
        return f"'.{labels[-1]}' is no public top-level domain"
    return None


def _host_name(value: str) -> str:
    """A DNS name people reach, not an address: RFC 1123 section 2.1 says a top-level label is never
    all digits, so '192.168.4.39' is an IP written where a name belongs."""
    value = _domain(value)
    if value.rsplit(".", 1)[-1].isdigit():
        raise ValueError("expected a DNS name, not an IP address (put addresses in server_ip/tailscale_ip)")
    return value


HostName = Annotated[str, AfterValidator(_host_name)]


def _routable_ip(value: ipaddress.IPv4Address) -> ipaddress.IPv4Address:
    """An address a client can send to: not 0.0.0.0 (which means 'every interface' to a listener and
    nothing to a client), multicast, broadcast or reserved."""
    if (
        value.is_unspecified
        or value.is_multicast
        or value.is_reserved
        or value == ipaddress.IPv4Address("255.255.255.255")
    ):
        raise ValueError("expected the address clients connect to, not 0.0.0.0, multicast or broadcast")
    return value


RoutableIp = Annotated[ipaddress.IPv4Address, AfterValidator(_routable_ip)]


def _connect_host(value: str) -> str:
    """What a client connects to: a DNS name or an IP, without scheme or ':port' (the port is its own key)."""
    if "://" in value or "/" in value:
        raise ValueError("expected a host name or IP, without scheme or path")
    if value.count(":") == 1 or (value.startswith("[") and "]:" in value):
        raise ValueError("expected the host without ':<port>'; the port is the separate 'port' key")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        _domain(value.lower())
        return value
    if address.is_unspecified or address.is_multicast:
        raise ValueError("expected the server's address, not 0.0.0.0 or a multicast address")
    return value


ConnectHost = Annotated[str, AfterValidator(_connect_host)]
