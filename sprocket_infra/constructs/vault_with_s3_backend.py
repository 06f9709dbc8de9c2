"""``VaultWithS3Backend``: Vault (or OpenBao) as a Swarm service that initializes and unseals itself.

Storage is either an S3 bucket on DigitalOcean Spaces, created here with versioning, deletion protection
and its own bucket-scoped access key (the key reaches Vault as a Docker secret holding an AWS credentials
file, never as an env var or inside ``vault.hcl``), or integrated ``raft`` storage on a node-local volume
(what ``local`` uses and what OpenBao supports).

The container's entrypoint is ``assets/vault/init-unseal.sh``: it starts the server, initializes it only
if the server says it was never initialized, keeps the unseal keys in a node-local bind mount (0600), and
unseals from them on every start. Nothing secret is ever printed. With a transit or KMS seal the server
unseals itself, and with ``vault.ha`` there is one service per raft node (``sprocket_infra.vault.
server_config_nodes`` says what differs per node; ``server_config_seal`` creates what the seal needs).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING

from cdktf import Fn, TerraformResourceLifecycle
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.config import Environment, S3Storage
from sprocket_infra.constructs.edge import Routing
from sprocket_infra.constructs.swarm_service import (
    BindMount,
    ConfigFile,
    DockerObject,
    Healthcheck,
    Resources,
    SecretFile,
    SwarmService,
    SwarmServiceProps,
    VolumeMount,
)
from sprocket_infra.routing import HttpRoute, login_paths
from sprocket_infra.vault.server_config import AUDIT_DEVICE_PATH as AUDIT_DEVICE_PATH  # re-exported
from sprocket_infra.vault.server_config_nodes import (
    CONFIG_PATH as CONFIG_PATH,  # re-exported
)
from sprocket_infra.vault.server_config_nodes import (
    KEYS_DIR,
    PORT,
    SERVER_GID,
    SERVER_UID,
    VaultNode,
    vault_nodes,
)
from sprocket_infra.vault.server_config_nodes import (
    SCRIPT_PATH as SCRIPT_PATH,  # re-exported
)
from sprocket_infra.vault.server_config_seal import seal_wiring

if TYPE_CHECKING:
    from cdktf_cdktf_provider_digitalocean.spaces_bucket import SpacesBucket

S3_CREDENTIALS_PATH = "/run/secrets/vault-s3-credentials"


def _server_secret(secret: DockerObject, target: str) -> SecretFile:
    """A secret file only the server's user can read (0400, owned by it)."""
    return SecretFile(secret=secret, target=target, uid=SERVER_UID, gid=SERVER_GID)


def unseal_script() -> str:
    return files("sprocket_infra.assets").joinpath("vault/init-unseal.sh").read_text()


def server_config(environment: Environment) -> str:
    """``vault.hcl`` of the environment's first node (see ``sprocket_infra.vault.server_config_nodes``)."""
    return vault_nodes(environment)[0].text


@dataclass(frozen=True, kw_only=True)
class VaultWithS3BackendProps:
    environment: Environment
    routing: Routing
    """layer1's edge; Vault's API and UI are routed through it."""
    trusted_proxy_cidrs: Sequence[str] | None = None
    """Networks of the proxies in front of Vault whose ``X-Forwarded-For`` the listener believes, so
    audit entries and login rate limits see the real client. A request carrying the header from anywhere
    else is refused. Left out: the subnet of Vault's edge network, where Traefik's requests come from.
    Empty: the header is ignored, and every request through Traefik counts as coming from Traefik."""

    def __post_init__(self) -> None:
        for cidr in self.trusted_proxy_cidrs or ():
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError:
                raise ValueError(
                    f"trusted_proxy_cidrs: {cidr!r} is not a network address in CIDR form "
                    "(e.g. '10.20.3.0/24', host bits zero)"
                ) from None


class VaultWithS3Backend(Construct):
    """Public attributes: ``address`` (public URL), ``service`` (node 1), ``nodes`` (every node's
    service), ``bucket`` (None without S3 storage)."""

    def __init__(self, scope: Construct, construct_id: str, props: VaultWithS3BackendProps) -> None:
        super().__init__(scope, construct_id)
        environment = props.environment
        vault = environment.vault
        self.address = naming.public_url(environment, vault.subdomain)

        secrets: list[SecretFile] = []
        self.bucket: SpacesBucket | None = None
        if isinstance(vault.storage, S3Storage):
            credentials = self._spaces_bucket(environment, vault.storage)
            secrets.append(_server_secret(credentials, S3_CREDENTIALS_PATH))
        seal = seal_wiring(self, environment)
        if seal.secret is not None and seal.target is not None:
            secrets.append(_server_secret(seal.secret, seal.target))
        nodes = vault_nodes(
            environment,
            kms_key_id=seal.kms_key_id,
            seal_file=seal.target,
            trusted_proxy_cidrs=(
                (props.routing.edge_subnet(naming.VAULT_SERVICE),)
                if props.trusted_proxy_cidrs is None
                else props.trusted_proxy_cidrs
            ),
        )
        services = [self._node(environment, node, secrets, props.routing) for node in nodes]
        self.service: SwarmService = services[0]
        """Node 1, the routed one (with ``vault.ha``, ``nodes`` holds every node's service)."""
        self.nodes: tuple[SwarmService, ...] = tuple(services)

    def _node(
        self, environment: Environment, node: VaultNode, secrets: list[SecretFile], routing: Routing
    ) -> SwarmService:
        """The Swarm service of one node; only node 1 is routed (see the ADR on Vault HA for why)."""
        vault = environment.vault
        env = dict(node.env)
        mounts: list[VolumeMount | BindMount] = [BindMount(source=vault.keys_dir, target=KEYS_DIR)]
        if isinstance(vault.storage, S3Storage):
            env["AWS_SHARED_CREDENTIALS_FILE"] = S3_CREDENTIALS_PATH
        else:
            mounts.append(VolumeMount(source=naming.service_volume(node.service), target=node.data_dir))
        props = SwarmServiceProps(
            name=node.service,
            image=vault.image,
            command=["/bin/sh", SCRIPT_PATH, "serve"],
            env=env,
            # The image's own unprivileged user, by number (the entrypoint replaces the image's, which on
            # hashicorp/vault would start as root). No capability at all: see server_config_nodes on mlock.
            user=f"{SERVER_UID}:{SERVER_GID}",
            cap_drop=["ALL"],
            healthcheck=Healthcheck(
                test=("CMD", vault.binary, "status", f"-address=http://127.0.0.1:{PORT}"),
                interval_s=15,
                start_period_s=90,
            ),
            resources=Resources(cpus=0.5, memory_mib=512),
            # Node 1 joins Vault's edge network by its route; the others join it for raft's cluster port.
            networks=[] if node.index == 1 else [routing.edge(naming.VAULT_SERVICE).network],
            configs=[
                ConfigFile(target=CONFIG_PATH, content=node.text),
                ConfigFile(target=SCRIPT_PATH, content=unseal_script(), mode=0o555),
            ],
            secrets=secrets,
            mounts=mounts,
            placement=node.placement,
            stateful=True,
        )
        if node.index != 1:
            return routing.route(self, node.service, props)
        host = naming.public_host(environment.routing, vault.subdomain)
        allow = tuple(str(net) for net in environment.routing.edge.allow.vault or ())
        route = HttpRoute(name=naming.VAULT_SERVICE, hosts=(host,), port=PORT, allow_from=allow)
        return routing.route(
            self,
            "vault",
            props,
            routes=[route, login_paths(route, "/v1/auth/")],
            origin=f"{routing.source}: vault.subdomain",
        )

    def _spaces_bucket(self, environment: Environment, storage: S3Storage) -> DockerObject:
        """The storage bucket, a key that can touch only it, and that key as a Docker secret."""
        from cdktf_cdktf_provider_digitalocean.spaces_bucket import SpacesBucket
        from cdktf_cdktf_provider_digitalocean.spaces_key import SpacesKey, SpacesKeyGrant
        from cdktf_cdktf_provider_docker.secret import Secret

        bucket = SpacesBucket(
            self,
            "bucket",
            name=storage.bucket,
            region=environment.digitalocean.region,
            acl="private",
            versioning={"enabled": True},
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )
        self.bucket = bucket
        key = SpacesKey(
            self,
            "bucket-key",
            name=f"{environment.name}-vault-storage",
            grant=[SpacesKeyGrant(bucket=bucket.name, permission="readwrite")],
        )
        credentials = Fn.format(
            "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
            [key.access_key, key.secret_key],
        )
        return Secret(
            self,
            "s3-credentials",
            # The key id (not secret) in the name: a rotated key is a new secret, created before the old goes.
            name=f"vault-s3-credentials-{Fn.substr(key.access_key, 0, 8)}",
            data=Fn.base64encode(credentials),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
