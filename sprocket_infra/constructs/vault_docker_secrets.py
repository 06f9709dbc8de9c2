"""``VaultDockerSecrets``: Vault KV v2 values turned into Docker secrets at deploy time.

A service's credential is read by a ``vault_kv_secret_v2`` data source while Terraform applies, and goes
straight into a ``docker_secret``; the synthesized JSON holds only the reference (mount, path, key), the
value exists only in Vault, in state and in the container's ``/app/secret`` file. Each secret path is read
once per stack however many services use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from cdktf import Fn, ITerraformDependable, TerraformResourceLifecycle
from cdktf_cdktf_provider_docker.secret import Secret
from cdktf_cdktf_provider_vault.data_vault_kv_secret_v2 import DataVaultKvSecretV2
from constructs import Construct

from sprocket_infra import naming


class _Mount(Protocol):
    @property
    def path(self) -> str: ...


class VaultKey(Protocol):
    """One key of a KV v2 secret: an operator-provided ``SecretRef`` or a secret layer2 generates."""

    @property
    def name(self) -> str: ...
    @property
    def mount(self) -> _Mount: ...
    @property
    def path(self) -> str: ...
    @property
    def key(self) -> str: ...


def version_tag(reads: Sequence[DataVaultKvSecretV2]) -> str:
    """Ten hex digits that change whenever a new Vault version of any of ``reads`` is written.

    Taken from the versions' ``created_time``: the data source's ``version`` is an optional *argument*
    (which version to read), so it is null in every plan and a name built from it fails to render.
    The digest keeps the name short and within Swarm's 64 characters.
    """
    return Fn.substr(Fn.sha256(Fn.join(",", [read.created_time for read in reads])), 0, naming.TAG_LENGTH)


class VaultDockerSecrets(Construct):
    """Create one per stack; call :meth:`docker_secret` for every (service, ref) pair."""

    def __init__(
        self, scope: Construct, construct_id: str, *, mount_paths: Mapping[str, str] | None = None
    ) -> None:
        """``mount_paths`` maps a mount's path to the ``path`` attribute of the resource that creates it,
        where that resource is in the same stack (layer2). Reading through it defers every read until the
        mount exists, so an environment's first deploy gets as far as creating its mounts instead of
        failing its plan on a mount that isn't there yet."""
        super().__init__(scope, construct_id)
        self._mount_paths = dict(mount_paths or {})
        self._reads: dict[tuple[str, str], DataVaultKvSecretV2] = {}
        self._secrets: dict[tuple[str, str], Secret] = {}

    def read(self, ref: VaultKey, *, after: Sequence[ITerraformDependable] = ()) -> DataVaultKvSecretV2:
        """The data source for ``ref``'s secret path (shared by all keys of that path).

        ``after`` (the resource writing that path in the same stack) applies to the first read of a path,
        which creates the data source; it becomes a plain ``depends_on`` address, the only form Terraform
        accepts there (an interpolated ``${...}`` reference is rejected at ``init``).
        """
        where = (ref.mount.path, ref.path)
        if where not in self._reads:
            self._reads[where] = DataVaultKvSecretV2(
                self,
                f"read-{ref.mount.path}-{ref.path}".replace("/", "-"),
                mount=self._mount_paths.get(ref.mount.path, ref.mount.path),
                name=ref.path,
                depends_on=list(after) or None,
            )
        return self._reads[where]

    def docker_secret(self, ref: VaultKey, *, owner: str) -> Secret:
        """A Docker secret holding ``ref``'s value, named ``<owner>-<ref>-<version tag>``.

        The version tag in the name makes a rotated value a new Docker secret (Swarm secrets are
        immutable), created before the old one is removed so running services keep theirs until updated.
        """
        key = (owner, ref.name)
        if key not in self._secrets:
            read = self.read(ref)
            self._secrets[key] = Secret(
                self,
                f"{owner}-{ref.name}",
                name=naming.swarm_object_name(f"{owner}-{ref.name}", version_tag([read])),
                data=Fn.base64encode(read.data.lookup(ref.key)),
                lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            )
        return self._secrets[key]
