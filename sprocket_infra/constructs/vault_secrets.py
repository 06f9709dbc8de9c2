"""``Layer2Secrets``: credentials layer2 makes, kept in Vault, handed to services as Docker secrets.

Three jobs, one place, so every credential takes the same road:

* **make** a random value (``random_password``, letters and digits only so it is safe inside the config
  files that carry it: ``redis.conf``, ``rabbitmq.conf``, ``user:password`` tokens);
* **keep** values in the ``infrastructure`` KV v2 mount through the write-only ``data_json_wo``
  argument: Vault holds the value, the ``vault_kv_secret_v2`` state does not. (The ``random_password`` or
  provider resource that made the value still has it in state: cdktf 0.21 has no ephemeral resources.)
  A write is replaced whenever the resource that made the value is, so ``terraform apply
  -replace=<random_password>`` rotates a credential and Vault gets a new version;
* **deliver** any :class:`VaultKey` (kept here or provided by an operator) as a Docker secret, either the
  bare value or a small file around it (``requirepass <value>``), read back from Vault at deploy time.
  A tag of the Vault version is in the Docker secret's name, so a rotated value rolls the services that
  mount it.

Synthesized JSON only ever holds references (``${random_password...}``, ``${data.vault_kv_secret_v2...}``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from cdktf import Fn, TerraformResource, TerraformResourceLifecycle
from cdktf_cdktf_provider_docker.secret import Secret
from cdktf_cdktf_provider_random.password import Password
from cdktf_cdktf_provider_vault.data_vault_kv_secret_v2 import DataVaultKvSecretV2
from cdktf_cdktf_provider_vault.kv_secret_v2 import KvSecretV2
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.constructs.vault_docker_secrets import VaultDockerSecrets, VaultKey, templated_secret
from sprocket_infra.endpoints import Login
from sprocket_infra.vault.access import FOR_PLATFORM, INFRASTRUCTURE, KvMount, secret_path

PASSWORD_LENGTH = 40


@dataclass(frozen=True, kw_only=True)
class VaultSecretKey:
    """One key of a KV v2 secret layer2 writes; the same shape as an operator's ``SecretRef``.

    The platform stack reads it with its own ``VaultDockerSecrets`` (``mount.path``, ``path``, ``key``).
    """

    name: str
    """Stable lookup name, e.g. ``redis-password``; also part of Docker secret names."""
    mount: KvMount
    path: str
    """Logical path inside the mount, e.g. ``prod/for-platform/redis``."""
    key: str

    @property
    def address(self) -> str:
        """``<mount>/<path>#<key>``, safe to print."""
        return f"{self.mount.path}/{self.path}#{self.key}"


class AppUser(Protocol):
    """An app's identity on a shared service: its catalog key and its user name there."""

    @property
    def key(self) -> str: ...
    @property
    def username(self) -> str: ...


class Layer2Secrets(Construct):
    """Create one per stack, after the Vault mounts; ``mount_paths`` maps a mount to its resource's path.

    Passing the mount resource's ``path`` attribute (not the plain string) is what orders every write
    after the mount exists.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, environment: str, mount_paths: Mapping[str, str]
    ) -> None:
        super().__init__(scope, construct_id)
        self._environment = environment
        self._mount_paths = dict(mount_paths)
        self._reader = VaultDockerSecrets(self, "docker", mount_paths=self._mount_paths)
        self._writes: dict[tuple[str, str], KvSecretV2] = {}
        self._files: dict[tuple[str, str], Secret] = {}

    # --- make and keep ---------------------------------------------------------------------------------

    def password(self, name: str, *, length: int = PASSWORD_LENGTH) -> Password:
        """A random letters-and-digits value; pass its ``result`` to :meth:`keep`."""
        return Password(self, f"random-{name}", length=length, special=False, min_numeric=4)

    def keep(
        self,
        folder: str,
        values: Mapping[str, str],
        *,
        made_by: Sequence[TerraformResource],
        for_platform: bool = False,
    ) -> dict[str, VaultSecretKey]:
        """Write ``values`` (key -> value or token) as one KV v2 secret; returns a reference per key.

        ``for_platform`` puts the secret under ``<env>/for-platform/``, the only part of the
        infrastructure mount the platform policy reads. ``made_by`` lists the resources whose replacement
        must rewrite the secret (the ``random_password``, the database user).
        """
        parts = (FOR_PLATFORM, folder) if for_platform else (folder,)
        path = secret_path(self._environment, *parts)
        where = (INFRASTRUCTURE.path, path)
        if where in self._writes:
            raise ValueError(
                f"secret {INFRASTRUCTURE.path}/{path} is written twice; keep all its keys at once"
            )
        self._writes[where] = KvSecretV2(
            self,
            f"write-{naming.vault_path_id(INFRASTRUCTURE.path, path)}",
            mount=self._mount_paths[INFRASTRUCTURE.path],
            name=path,
            data_json_wo=Fn.jsonencode(dict(sorted(values.items()))),
            data_json_wo_version=1,
            # Plain addresses: Terraform rejects an interpolated "${...}" in replace_triggered_by.
            lifecycle=TerraformResourceLifecycle(
                replace_triggered_by=[
                    f"{made.terraform_resource_type}.{made.friendly_unique_id}" for made in made_by
                ]
            ),
        )
        return {
            key: VaultSecretKey(
                name=naming.vault_key_name(folder, key), mount=INFRASTRUCTURE, path=path, key=key
            )
            for key in values
        }

    def app_logins(self, service: str, clients: Iterable[AppUser]) -> dict[str, Login]:
        """One generated login per app on ``service`` (``rabbitmq``, ``redis``), kept for the platform under
        ``apps/<key>/<service>``; the ``random_password`` of each is ``<service>-app-<key>``."""
        return {
            client.key: self.login(
                f"apps/{client.key}/{service}",
                client.username,
                random_id=f"{service}-app-{client.key}",
                for_platform=True,
            )
            for client in clients
        }

    def login(self, folder: str, username: str, *, random_id: str, for_platform: bool = False) -> Login:
        """A generated password for ``username``, kept with the name as ``username``/``password`` in
        ``folder``. ``random_id`` names the ``random_password`` (its address: keep it stable)."""
        made = self.password(random_id)
        kept = self.keep(
            folder, {"username": username, "password": made.result}, made_by=[made], for_platform=for_platform
        )
        return Login(username=kept["username"], password=kept["password"])

    def generated(self, folder: str, key: str, *, for_platform: bool = False) -> VaultSecretKey:
        """Shorthand: one random value kept alone under ``folder`` as ``key``."""
        made = self.password(naming.vault_key_name(folder, key))
        return self.keep(folder, {key: made.result}, made_by=[made], for_platform=for_platform)[key]

    # --- deliver ---------------------------------------------------------------------------------------

    def docker_secret(self, ref: VaultKey, *, owner: str) -> Secret:
        """``ref``'s bare value as a Docker secret named for ``owner`` (one per owner and key)."""
        self._read(ref)
        return self._reader.docker_secret(ref, owner=owner)

    def docker_secret_file(
        self, *, owner: str, name: str, template: str, refs: Sequence[VaultKey], hashed: bool = False
    ) -> Secret:
        """A Docker secret holding ``template`` with each ``%s`` replaced by the next ref's value.

        For files that must carry a credential inside some syntax (``requirepass %s``, ``neo4j/%s``);
        ``hashed`` writes each value's SHA-256 instead (see :func:`templated_secret`).
        """
        key = (owner, name)
        if key not in self._files:
            self._files[key] = templated_secret(
                self,
                f"file-{owner}-{name}",
                stem=f"{owner}-{name}",
                template=template,
                values=[(self._read(ref), ref) for ref in refs],
                hashed=hashed,
            )
        return self._files[key]

    def _read(self, ref: VaultKey) -> DataVaultKvSecretV2:
        # Read after this run's write, or the first deploy would read a secret that isn't there yet.
        writer = self._writes.get((ref.mount.path, ref.path))
        return self._reader.read(ref, after=[writer] if writer is not None else [])
