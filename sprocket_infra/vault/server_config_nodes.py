"""The Vault nodes of an environment: per node its Swarm service name, ``vault.hcl`` and entrypoint env.

One node (the default) keeps today's shape: service ``vault``, the public URL as ``api_addr``, raft or S3
storage. With ``vault.ha`` there are ``nodes`` of them on raft, each joining the others by their overlay
names (``retry_join``) and advertising its own overlay address, so a standby forwards to the active node
without going through Traefik. Only node 1 may initialize; the others are started as joiners. The
construct builds one service per node from this, and the cluster tests start each node from exactly the
text synthesized from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sprocket_infra import naming
from sprocket_infra.config import Environment, S3Storage
from sprocket_infra.config.vault import AwsKmsUnseal, ShamirFileUnseal, TransitUnseal
from sprocket_infra.vault import server_config as hcl

PORT = 8200
CLUSTER_PORT = PORT + 1
CONFIG_PATH = "/vault/config/vault.hcl"
SCRIPT_PATH = "/vault/init-unseal.sh"
KEYS_DIR = "/vault/keys"
SERVICE = "vault"

SERVER_UID = 100
SERVER_GID = 1000
"""The images' unprivileged user, which the service runs as (never root). openbao/openbao's UBI Dockerfile
creates ``openbao`` with ``--uid 100`` in group ``--gid 1000``; its Alpine Dockerfile (the image we pin) and
hashicorp/vault's make the user with busybox ``adduser -S`` (first free system uid: 100) in a group from
``addgroup`` (first free gid: 1000). The keys directory on the host and the secret files belong to it."""

_DATA_DIRS = {"bao": "/openbao/file", "vault": "/vault/file"}
"""Raft's data directory: the one directory each image creates owned by its unprivileged user, so a new
named volume mounted there starts out owned by that user (Docker copies the mount point's ownership into
an empty volume). A directory the image lacks would be created root-owned, and the server could not
write it."""


def data_dir(binary: str) -> str:
    """Where the raft data volume is mounted for the image whose CLI is ``binary`` (``bao``/``vault``)."""
    return _DATA_DIRS[binary]


def node_service(index: int) -> str:
    """Swarm service (and overlay host) name of node ``index`` (1-based). Node 1 keeps the name a
    single-node Vault always had, so growing to three nodes does not replace it."""
    return SERVICE if index == 1 else f"{SERVICE}-{index}"


@dataclass(frozen=True, kw_only=True)
class VaultNode:
    """One Vault server of the environment."""

    index: int
    """1-based; node 1 is the only one that may initialize a new cluster."""
    service: str
    """Swarm service name, also its host name on the overlay."""
    config: hcl.ServerConfig
    env: dict[str, str]
    """The entrypoint's contract variables (``assets/vault/init-unseal.sh``); nothing secret."""
    data_dir: str
    """Mount point of the raft data volume (unused with S3 storage)."""
    placement: tuple[str, ...]
    """Swarm placement constraints: the storage nodes, and with HA the one node labelled for it."""

    @property
    def text(self) -> str:
        return hcl.render(self.config)


def _seal(environment: Environment, kms_key_id: str | None) -> hcl.Seal:
    """The seal stanza ``vault.unseal`` asks for (Shamir has none)."""
    unseal = environment.vault.unseal
    if isinstance(unseal, TransitUnseal):
        return hcl.TransitSeal(address=unseal.address, key_name=unseal.key_name, mount_path=unseal.mount_path)
    if isinstance(unseal, AwsKmsUnseal):
        key_id = kms_key_id or unseal.kms_key_id
        if key_id is None:
            raise ValueError("vault.unseal: awskms with create_key needs the id of the key layer1 created")
        return hcl.AwsKmsSeal(region=unseal.region, kms_key_id=key_id)
    return hcl.ShamirSeal()


def _env(environment: Environment, index: int, count: int, seal_file: str | None) -> dict[str, str]:
    vault = environment.vault
    unseal = vault.unseal
    if isinstance(unseal, ShamirFileUnseal):
        shares, threshold = unseal.key_shares, unseal.key_threshold
    else:
        shares, threshold = unseal.recovery_shares, unseal.recovery_threshold
    env = {
        "VAULT_BIN": vault.binary,
        "VAULT_ADDR": f"http://127.0.0.1:{PORT}",
        "VAULT_CONFIG": CONFIG_PATH,
        "VAULT_KEYS_DIR": KEYS_DIR,
        "VAULT_KEY_SHARES": str(shares),
        "VAULT_KEY_THRESHOLD": str(threshold),
    }
    if vault.auto_unseal:
        env["VAULT_SEAL_KIND"] = unseal.kind
    if count > 1:
        env["VAULT_NODE_ROLE"] = "bootstrap" if index == 1 else "join"
    if seal_file is not None and isinstance(unseal, TransitUnseal):
        env["VAULT_SEAL_TOKEN_FILE"] = seal_file
    elif seal_file is not None:
        env["AWS_SHARED_CREDENTIALS_FILE"] = seal_file
    return env


def vault_nodes(
    environment: Environment,
    *,
    kms_key_id: str | None = None,
    seal_file: str | None = None,
    trusted_proxy_cidrs: Sequence[str] = (),
) -> tuple[VaultNode, ...]:
    """Every Vault node of ``environment``, node 1 first. ``kms_key_id`` is the id (usually a token) of
    the KMS key layer1 created; ``seal_file`` where the seal's secret (transit token, KMS credentials
    file) is mounted, if it has one; ``trusted_proxy_cidrs`` the proxies whose ``X-Forwarded-For`` the
    listener believes (``ServerConfig.trusted_proxy_cidrs``)."""
    vault = environment.vault
    count = 1 if vault.ha is None else vault.ha.nodes
    services = tuple(node_service(index) for index in range(1, count + 1))
    seal = _seal(environment, kms_key_id)
    storage_nodes = environment.swarm.placement.storage
    data = data_dir(vault.binary)
    nodes = []
    for index, service in enumerate(services, start=1):
        storage: hcl.RaftStorage | hcl.S3Storage
        if isinstance(vault.storage, S3Storage):
            storage = hcl.S3Storage(
                bucket=vault.storage.bucket,
                endpoint=vault.storage.endpoint,
                region=vault.storage.region,
                path=vault.storage.path,
            )
        else:
            storage = hcl.RaftStorage(
                path=data,
                node_id=vault.storage.node_id if count == 1 else service,
                retry_join=tuple(f"http://{peer}:{PORT}" for peer in services if peer != service),
            )
        if vault.ha is None:
            api_addr = naming.public_url(environment, vault.subdomain)
            cluster_addr = f"http://127.0.0.1:{CLUSTER_PORT}"
            cluster_listen = None
            placement = storage_nodes
        else:
            api_addr = f"http://{service}:{PORT}"
            cluster_addr = f"https://{service}:{CLUSTER_PORT}"
            cluster_listen = f"0.0.0.0:{CLUSTER_PORT}"
            placement = (*storage_nodes, f"node.labels.{vault.ha.node_label}=={index}")
        config = hcl.ServerConfig(
            api_addr=api_addr,
            cluster_addr=cluster_addr,
            listen=f"0.0.0.0:{PORT}",
            cluster_listen=cluster_listen,
            storage=storage,
            seal=seal,
            audit_to_stdout=vault.is_openbao,
            # HashiCorp Vault: a process of a non-root user cannot mlock without file capabilities on the
            # binary (its image's entrypoint sets them as root; ours never runs as root). OpenBao 2 has no
            # mlock at all (it removed it, openbao/openbao#363), so it needs neither this nor IPC_LOCK.
            disable_mlock=not vault.is_openbao,
            trusted_proxy_cidrs=tuple(trusted_proxy_cidrs),
        )
        env = _env(environment, index, count, seal_file)
        nodes.append(
            VaultNode(
                index=index, service=service, config=config, env=env, data_dir=data, placement=placement
            )
        )
    return tuple(nodes)
