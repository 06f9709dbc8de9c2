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


def templated_secret(
    scope: Construct,
    construct_id: str,
    *,
    stem: str,
    template: str,
    values: Sequence[tuple[DataVaultKvSecretV2, VaultKey]],
    hashed: bool = False,
) -> Secret:
    """A Docker secret holding ``template`` with each ``%s`` replaced by the next value read from Vault.

    For files that must carry a credential inside some syntax (``requirepass %s``, a YAML key). The
    template is a raw string, so nothing in it is taken for a Terraform expression. ``hashed`` puts each
    value's SHA-256 (hex) in its place instead, for servers that check a digest (Redis ACL ``#<hex>``).
    """
    if template.count("%s") != len(values):
        raise ValueError(f"secret file {stem}: {template.count('%s')} placeholders, {len(values)} values")
    reads = [read for read, _ in values]
    filled = [read.data.lookup(ref.key) for read, ref in values]
    return Secret(
        scope,
        construct_id,
        name=naming.swarm_object_name(stem, version_tag(reads)),
        data=Fn.base64encode(
            Fn.format(Fn.raw_string(template), [Fn.sha256(value) for value in filled] if hashed else filled)
        ),
        lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
    )


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
        self._files: dict[tuple[str, str], Secret] = {}
        # Every read of a token costs a round trip to the jsii kernel; one token per path (and per key)
        # serves every secret that shares it and renders the same expression.
        self._tags: dict[tuple[str, str], str] = {}
        self._values: dict[tuple[str, str, str], str] = {}

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
                f"read-{naming.vault_path_id(ref.mount.path, ref.path)}",
                mount=self._mount_paths.get(ref.mount.path, ref.mount.path),
                name=ref.path,
                depends_on=list(after) or None,
            )
        return self._reads[where]

    def docker_secret(self, ref: VaultKey, *, owner: str, owner_id: str | None = None) -> Secret:
        """A Docker secret holding ``ref``'s value, named ``<owner>-<ref>-<version tag>``.

        The version tag in the name makes a rotated value a new Docker secret (Swarm secrets are
        immutable), created before the old one is removed so running services keep theirs until updated.
        ``owner_id`` is the owner's name without the environment, for the construct ID (default: owner).
        """
        key = (owner, ref.name)
        if key not in self._secrets:
            self._secrets[key] = Secret(
                self,
                f"{owner_id or owner}-{ref.name}",
                name=naming.swarm_object_name(f"{owner}-{ref.name}", self._version_tag(ref)),
                data=self._encoded_value(ref),
                lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            )
        return self._secrets[key]

    def _version_tag(self, ref: VaultKey) -> str:
        """:func:`version_tag` of ``ref``'s path, built once per path."""
        where = (ref.mount.path, ref.path)
        if where not in self._tags:
            self._tags[where] = version_tag([self.read(ref)])
        return self._tags[where]

    def _encoded_value(self, ref: VaultKey) -> str:
        """``ref``'s value from its read, base64-encoded as ``docker_secret.data`` wants; once per key."""
        where = (ref.mount.path, ref.path, ref.key)
        if where not in self._values:
            self._values[where] = Fn.base64encode(self.read(ref).data.lookup(ref.key))
        return self._values[where]

    def docker_secret_file(
        self, *, owner: str, name: str, template: str, refs: Sequence[VaultKey], owner_id: str | None = None
    ) -> Secret:
        """A Docker secret named for ``owner`` and ``name`` holding ``template`` filled with ``refs``;
        ``owner_id`` as in :meth:`docker_secret`."""
        key = (owner, name)
        if key not in self._files:
            self._files[key] = templated_secret(
                self,
                f"file-{owner_id or owner}-{name}",
                stem=f"{owner}-{name}",
                template=template,
                values=[(self.read(ref), ref) for ref in refs],
            )
        return self._files[key]
