"""The one place where names are made: hosts, networks, queues, buckets, Docker configs.

Every other module asks here instead of formatting its own string, so a naming rule changes in one spot
and two stacks can never disagree about a name.
"""

from __future__ import annotations

import hashlib
import re

from sprocket_infra.config import Environment, RoutingConfig


def edge_network(key: str) -> str:
    """The overlay only Traefik and backend ``key`` (a service, or a platform zone) join: ``<key>-edge``."""
    return f"{key}-edge"


def platform_zone(environment: Environment, purpose: str) -> str:
    """Edge key of the routed catalog entries of platform network ``purpose`` (``<env>-<purpose>``)."""
    return platform_network(environment, purpose)


SOCKET_PROXY_NETWORK = "docker-socket-proxy"
"""Private overlay between Traefik and the socket proxy: nothing else may reach the Docker API."""

SOCKET_PROXY_SERVICE = "docker-socket-proxy"
SOCKET_PROXY_PORT = 2375

CERT_RESOLVER = "letsencrypt"
ENVIRONMENT_LABEL = "sprocket.environment"
"""Service label Traefik's provider constraint matches, so each Traefik sees only its environment."""

_ROUTER_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def public_host(routing: RoutingConfig, subdomain: str | None) -> str:
    """``<subdomain>.<domain>``, or the domain itself (the apex) when ``subdomain`` is None."""
    return routing.domain if subdomain is None else f"{subdomain}.{routing.domain}"


def host_forms(
    routing: RoutingConfig, subdomain: str | None, *, answers_on_ips: bool = False
) -> tuple[str, ...]:
    """Every host a service answers on in this environment, in a fixed order.

    IP addresses can't tell two services apart, so only the one service that ``answers_on_ips`` (the web
    app) gets the LAN and Tailscale IPs; everything else is reached by name.
    """
    hosts = [public_host(routing, subdomain)]
    if answers_on_ips:
        hosts += [str(ip) for ip in (routing.server_ip, routing.tailscale_ip) if ip is not None]
    return tuple(hosts)


def check_router_name(name: str) -> str:
    """Router, service and middleware names share Traefik's label namespace: keep them label-safe."""
    if not _ROUTER_NAME_RE.match(name):
        raise ValueError(
            f"router name {name!r}: expected lower-case letters, digits and '-', starting with a letter"
        )
    return name


def router_name(service: str, suffix: str | None = None) -> str:
    """A service's router: the service name, or ``<service>-<suffix>`` for its further routers."""
    return check_router_name(service if suffix is None else f"{service}-{suffix}")


def service_volume(service: str, contents: str = "data") -> str:
    """Named volume of a shared layer1/layer2 service, ``<service>-<contents>``; one Swarm per environment."""
    return f"{service}-{contents}"


def forward_auth_middleware(rule: str) -> str:
    """Name of the shared forward-auth middleware that admits members of Discord rule ``rule``."""
    return f"auth-{rule.lower()}"


def route_middleware(owner: str, purpose: str) -> str:
    """Name of a middleware one router or shared middleware defines for itself, e.g. ``vault-allow``:
    prefixed with its owner's name, so two owners never define the same middleware."""
    return f"{owner}-{purpose}"


def login_router(route: str) -> str:
    """Name of the rate-limited router that takes a route's login paths (e.g. ``vault-login``)."""
    return f"{route}-login"


SECURITY_HEADERS_MIDDLEWARE = "security-headers"
"""The response-header middleware every router of the routed entrypoint runs (Traefik's dynamic file)."""


def queue_name(environment: Environment, queue: str) -> str:
    """RabbitMQ queue names carry the environment so two environments on one broker never share a queue."""
    return f"{environment.name}-{queue}"


SWARM_NAME_MAX = 64
"""Swarm refuses config and secret names longer than this (``[a-zA-Z0-9-_.]``, alphanumeric ends)."""
TAG_LENGTH = 10
"""Length of the content hash or version tag that ends every config and secret name."""


def swarm_object_name(stem: str, tag: str) -> str:
    """``<stem>-<tag>``, the name of an immutable Swarm config or secret, within Swarm's 64 characters.

    ``tag`` is :data:`TAG_LENGTH` characters once rendered (a content hash, or a Terraform expression that
    yields one). A stem too long for the rest is cut and ends in six hex digits of its full text, so two
    long stems that share a beginning still get different names.
    """
    room = SWARM_NAME_MAX - TAG_LENGTH - 1
    if len(stem) > room:
        digest = hashlib.sha256(stem.encode()).hexdigest()[:6]
        stem = f"{stem[: room - 7].rstrip('-_.')}-{digest}"
    return f"{stem}-{tag}"


def environment_free_id(name: str, environment: str) -> str:
    """``name`` without its ``environment`` token (``platform-prod`` -> ``platform``), for construct IDs.

    Names carry the environment so two environments never share a Swarm or Vault object; construct IDs
    must not, or each environment gets different Terraform addresses for the same code.
    """
    return re.sub(rf"(?:^|-){re.escape(environment)}(?=-|$)", "", name).strip("-") or name


def vault_key_name(folder: str, key: str) -> str:
    """Stable lookup name of a generated secret: ``redis`` + ``adminPassword`` -> ``redis-admin-password``.

    Also the stem of its Docker secrets and of the ``random_password`` that makes it.
    """
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", key).lower()
    return f"{folder.replace('/', '-')}-{kebab}"


def vault_path_id(mount: str, path: str) -> str:
    """A construct ID for a Vault secret path that is the same in every environment.

    Paths are ``<env>/<rest>`` (``vault.access.secret_path``); an ID carrying the environment would give
    each environment different Terraform addresses for the same code, and renaming one would move them all.
    """
    _env, _, rest = path.partition("/")
    return f"{mount}-{rest}".replace("/", "-")


def content_suffix(content: str | bytes) -> str:
    """Short content hash for immutable Swarm objects (configs): a change of content is a new name."""
    data = content.encode() if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()[:TAG_LENGTH]


# --- platform ----------------------------------------------------------------------------------------

SECRET_DIR = "/app/secret"  # noqa: S105 - a directory, not a password
"""Where every platform service finds its Docker secrets, one ``<name>.txt`` file each."""


def secret_file(stem: str) -> str:
    """Container path of the secret file ``stem`` (``/app/secret/<stem>.txt``), the apps' convention."""
    return f"{SECRET_DIR}/{stem}.txt"


def platform_service_name(environment: Environment, key: str) -> str:
    """Swarm service (and DNS and router) name of catalog entry ``key``; two environments never clash."""
    return f"{environment.name}-{key}"


def platform_network(environment: Environment, purpose: str = "platform") -> str:
    """Overlay network the platform's services talk on (``purpose`` names a private one, e.g. dgraph)."""
    return f"{environment.name}-{purpose}"


def admin_token_folder(key: str) -> str:
    """Where layer2 keeps catalog entry ``key``'s generated admin token (below ``<env>/for-platform/``)."""
    return f"tokens/{key}"


def admin_token_file(key: str) -> str:
    """File stem under which the clients of entry ``key``'s admin token find it (``<key>-admin-token``)."""
    return f"{key}-admin-token"


def volume_name(environment: Environment, key: str) -> str:
    """Named volume holding catalog entry ``key``'s data."""
    return f"{environment.name}-{key}-data"


def app_image(environment: Environment, repository: str, key: str) -> str:
    """``<registry>/<repository>:<tag>``: the environment's pinned tag, or its override for ``key``."""
    platform = environment.platform
    tag = platform.image_tags.get(key, platform.image_tag)
    return f"{platform.registry}/{repository}:{tag}"


def redis_prefix(environment: Environment, key: str) -> str:
    """Key prefix of catalog entry ``key`` in the shared Redis: ``<env>:<key>:``.

    The original used the subdomain here and the stack name for queues (inventory 7.3). Each app now has
    its own prefix, because its Redis user may touch only keys (and pub/sub channels) under it.
    """
    return f"{environment.name}:{key}:"


def app_identity(environment: Environment, key: str) -> str:
    """The login of catalog entry ``key`` on the shared services (RabbitMQ, Redis): its service name."""
    return platform_service_name(environment, key)


def rabbitmq_vhost(environment: Environment) -> str:
    """The environment's RabbitMQ virtual host; the apps' users have permissions only there."""
    return environment.name


def parsed_object_prefix(environment: Environment) -> str:
    """Prefix of parsed replays in the replays bucket: configured, else the environment name (not 'dev')."""
    return environment.platform.parsed_object_prefix or environment.name


def url_scheme(routing: RoutingConfig) -> str:
    """``https`` where the environment issues certificates, ``http`` where it doesn't."""
    return "https" if routing.acme.tls else "http"


def public_url(environment: Environment, subdomain: str | None) -> str:
    """``<scheme>://<host>`` of a service as users reach it (the apex when ``subdomain`` is None)."""
    return f"{url_scheme(environment.routing)}://{public_host(environment.routing, subdomain)}"


# --- layer2 ------------------------------------------------------------------------------------------


def data_network(service: str) -> str:
    """Overlay of data service ``service`` (``sprocket-data-redis``): it and the apps that use it join it."""
    return f"sprocket-data-{service}"


MONITORING_NETWORK = "sprocket-monitoring"
"""Overlay between the observability services (Loki, InfluxDB, Grafana, Telegraf, Alloy)."""


def agent_socket_proxy(agent: str) -> str:
    """Service (and private overlay) of a monitoring agent's own Docker API proxy."""
    return f"{SOCKET_PROXY_SERVICE}-{agent}"


FORWARD_AUTH_SERVICE = "forward-auth"
FORWARD_AUTH_PORT = 3000

TRAEFIK_SERVICE = "traefik"
"""layer1's Traefik service: status checks of hosts without public DNS go through it by name."""

TRAEFIK_DASHBOARD_ROUTER = "traefik-dashboard"

VAULT_SERVICE = "vault"


def vault_login_quota(mount: str) -> str:
    """Name of the rate-limit quota on ``auth/<mount>/login`` (``approle`` -> ``login-approle``)."""
    return f"login-{mount}"


def forward_auth_address(rule: str) -> str:
    """Where Traefik asks whether a request may pass ``rule``: an overlay address, never public DNS."""
    return f"http://{FORWARD_AUTH_SERVICE}:{FORWARD_AUTH_PORT}/login?rule={rule}"


def influx_platform_bucket(environment: Environment) -> str:
    """The platform's InfluxDB bucket (analytics); the original read ``sprocket_<env>`` but never made it."""
    return f"sprocket_{environment.name}"


def database_name(environment: Environment, consumer: str) -> str:
    """PostgreSQL database of ``consumer``: ``sprocket_<env>`` for the platform, ``<consumer>_<env>`` else."""
    stem = "sprocket" if consumer == "platform" else consumer.replace("-", "_")
    return f"{stem}_{environment.name.replace('-', '_')}"


def database_user(environment: Environment, consumer: str) -> str:
    """The consumer's own PostgreSQL login; the same rule as its database, so one name says both."""
    return database_name(environment, consumer)


def bucket_name(environment: Environment, kind: str) -> str:
    """Object storage bucket of ``kind`` (``general``, ``image-generation``, ``replays``)."""
    return f"sprocket-{kind}-{environment.name}"


def swarm_firewall(environment: Environment) -> str:
    """The DigitalOcean firewall around an environment's droplets."""
    return f"{environment.name}-swarm"


def join_token_variable(role: str) -> str:
    """The sensitive deploy-time variable (``TF_VAR_<name>``) holding Swarm's join token for ``role``."""
    return f"swarm_{role}_join_token"


def dns_record_name(zone: str, host: str) -> str:
    """``host`` relative to DNS ``zone``, as a DigitalOcean record names it (``@`` for the zone itself)."""
    if host == zone:
        return "@"
    if not host.endswith(f".{zone}"):
        raise ValueError(f"host {host!r} is not inside DNS zone {zone!r}")
    return host.removesuffix(f".{zone}")
