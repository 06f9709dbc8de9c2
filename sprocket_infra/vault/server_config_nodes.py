"""The Vault nodes of an environment: per node its Swarm service name, raft node id and ``vault.hcl``.

One node (the default) keeps today's shape: service ``vault``, the public URL as ``api_addr``, raft or S3
storage. With ``vault.ha`` there are ``nodes`` of them on raft, each joining the others by their overlay
names (``retry_join``) and advertising its own overlay address, so a standby redirects or forwards to the
active node without going through Traefik. The construct builds one service per node from this, and the
cluster tests start each node from exactly the text rendered here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sprocket_infra import naming
from sprocket_infra.config import Environment, S3Storage
from sprocket_infra.vault import server_config as hcl

PORT = 8200
CLUSTER_PORT = PORT + 1
DATA_DIR = "/vault/data"
SERVICE = "vault"


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

    @property
    def bootstraps(self) -> bool:
        """Whether this node initializes the storage when nobody has; the others only join."""
        return self.index == 1

    @property
    def text(self) -> str:
        return hcl.render(self.config)


def _seal(environment: Environment) -> hcl.Seal:
    """The seal stanza the environment's ``vault.unseal`` asks for (Shamir has none)."""
    unseal = environment.vault.unseal
    kind = getattr(unseal, "kind", "shamir-file")
    if kind == "transit":
        return hcl.TransitSeal(
            address=unseal.address,  # type: ignore[attr-defined]
            key_name=unseal.key_name,  # type: ignore[attr-defined]
            mount_path=unseal.mount_path,  # type: ignore[attr-defined]
        )
    return hcl.ShamirSeal()


def _node_count(environment: Environment) -> int:
    ha = getattr(environment.vault, "ha", None)
    return 1 if ha is None else int(ha.nodes)


def vault_nodes(environment: Environment, *, kms_key_id: str | None = None) -> tuple[VaultNode, ...]:
    """Every Vault node of ``environment``, node 1 first. ``kms_key_id`` is the id (usually a token) of
    the KMS key the stack created, for the ``awskms`` seal."""
    vault = environment.vault
    count = _node_count(environment)
    services = tuple(node_service(index) for index in range(1, count + 1))
    seal = _seal(environment)
    if getattr(vault.unseal, "kind", "") == "awskms":
        key_id = kms_key_id or getattr(vault.unseal, "kms_key_id", None)
        if key_id is None:
            raise ValueError("the awskms seal needs a KMS key id: pass the id of the key the stack created")
        seal = hcl.AwsKmsSeal(region=vault.unseal.region, kms_key_id=key_id)  # type: ignore[attr-defined]
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
                path=DATA_DIR,
                node_id=vault.storage.node_id if count == 1 else service,
                retry_join=tuple(f"http://{peer}:{PORT}" for peer in services if peer != service),
            )
        if count == 1:
            api_addr = naming.public_url(environment, vault.subdomain)
            cluster_addr = f"http://127.0.0.1:{CLUSTER_PORT}"
            cluster_listen = None
        else:
            api_addr = f"http://{service}:{PORT}"
            cluster_addr = f"https://{service}:{CLUSTER_PORT}"
            cluster_listen = f"0.0.0.0:{CLUSTER_PORT}"
        config = hcl.ServerConfig(
            api_addr=api_addr,
            cluster_addr=cluster_addr,
            listen=f"0.0.0.0:{PORT}",
            cluster_listen=cluster_listen,
            storage=storage,
            seal=seal,
            audit_to_stdout=vault.is_openbao,
            # mlock is not available in an unprivileged container; OpenBao 2 dropped the setting.
            disable_mlock=not vault.is_openbao,
        )
        nodes.append(VaultNode(index=index, service=service, config=config))
    return tuple(nodes)
