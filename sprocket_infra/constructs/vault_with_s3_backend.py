"""``VaultWithS3Backend``: Vault (or OpenBao) as a Swarm service that initializes and unseals itself.

Storage is either an S3 bucket on DigitalOcean Spaces, created here with versioning, deletion protection
and its own bucket-scoped access key (the key reaches Vault as a Docker secret holding an AWS credentials
file, never as an env var or inside ``vault.hcl``), or integrated ``raft`` storage on a node-local volume
(what ``local`` uses and what OpenBao supports).

The container's entrypoint is ``assets/vault/init-unseal.sh``: it starts the server, initializes it only
if the server says it was never initialized, keeps the unseal keys in a node-local bind mount (0600), and
unseals from them on every start. Nothing secret is ever printed.
"""

from __future__ import annotations

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
    SwarmServiceProps,
    VolumeMount,
)
from sprocket_infra.routing import HttpRoute
from sprocket_infra.vault.server_config import AUDIT_DEVICE_PATH as AUDIT_DEVICE_PATH  # re-exported
from sprocket_infra.vault.server_config_nodes import DATA_DIR, PORT, vault_nodes

if TYPE_CHECKING:
    from cdktf_cdktf_provider_digitalocean.spaces_bucket import SpacesBucket

CONFIG_PATH = "/vault/config/vault.hcl"
SCRIPT_PATH = "/vault/init-unseal.sh"
KEYS_DIR = "/vault/keys"
S3_CREDENTIALS_PATH = "/run/secrets/vault-s3-credentials"


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


class VaultWithS3Backend(Construct):
    """Public attributes: ``address`` (public URL), ``service``, ``bucket`` (None without S3 storage)."""

    def __init__(self, scope: Construct, construct_id: str, props: VaultWithS3BackendProps) -> None:
        super().__init__(scope, construct_id)
        environment = props.environment
        vault = environment.vault
        routing = environment.routing
        host = naming.public_host(routing, vault.subdomain)
        self.address = naming.public_url(environment, vault.subdomain)

        env = {
            "VAULT_BIN": vault.binary,
            "VAULT_ADDR": f"http://127.0.0.1:{PORT}",
            "VAULT_CONFIG": CONFIG_PATH,
            "VAULT_KEYS_DIR": KEYS_DIR,
            "VAULT_KEY_SHARES": str(vault.unseal.key_shares),
            "VAULT_KEY_THRESHOLD": str(vault.unseal.key_threshold),
        }
        secrets: list[SecretFile] = []
        mounts: list[VolumeMount | BindMount] = [BindMount(source=vault.unseal.keys_dir, target=KEYS_DIR)]
        self.bucket: SpacesBucket | None = None
        if isinstance(vault.storage, S3Storage):
            credentials = self._spaces_bucket(environment, vault.storage)
            secrets.append(SecretFile(secret=credentials, target=S3_CREDENTIALS_PATH))
            env["AWS_SHARED_CREDENTIALS_FILE"] = S3_CREDENTIALS_PATH
        else:
            mounts.append(VolumeMount(source=naming.service_volume(naming.VAULT_SERVICE), target=DATA_DIR))

        self.service = props.routing.route(
            self,
            "vault",
            SwarmServiceProps(
                name=naming.VAULT_SERVICE,
                image=vault.image,
                command=["/bin/sh", SCRIPT_PATH, "serve"],
                env=env,
                healthcheck=Healthcheck(
                    test=("CMD", vault.binary, "status", f"-address=http://127.0.0.1:{PORT}"),
                    interval_s=15,
                    start_period_s=90,
                ),
                resources=Resources(cpus=0.5, memory_mib=512),
                networks=[],
                configs=[
                    ConfigFile(target=CONFIG_PATH, content=server_config(environment)),
                    ConfigFile(target=SCRIPT_PATH, content=unseal_script(), mode=0o555),
                ],
                secrets=secrets,
                mounts=mounts,
                placement=environment.swarm.placement.storage,
                stateful=True,
            ),
            routes=[HttpRoute(name=naming.VAULT_SERVICE, hosts=(host,), port=PORT)],
            origin=f"{props.routing.source}: vault.subdomain",
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
