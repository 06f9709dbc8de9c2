"""Talking to a live Vault/OpenBao through hvac, with errors turned into one safe sentence.

hvac's exceptions carry the URL and the server's response, and ``requests`` errors can be long and
nested; operators need one line that says what failed and what to do, and nothing that could contain a
secret. :func:`vault_errors` builds that line from the exception *type*, the action and the address, plus
Vault's own short error strings (which describe requests, never echo their bodies).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import hvac
import hvac.exceptions
import requests

from sprocket_infra.secrets.bootstrap import CasConflict, StoredSecret

DEFAULT_TIMEOUT_S = 10.0


class VaultOperationError(Exception):
    """Vault could not do what we asked; ``str()`` is a single line that is safe to show."""


def _vault_said(error: hvac.exceptions.VaultError) -> str:
    said = "; ".join(str(item) for item in (error.errors or []) if item)
    return f": {said}" if said else ""


@contextmanager
def vault_errors(action: str, addr: str) -> Iterator[None]:
    """Re-raise anything hvac or requests throws during ``action`` as :class:`VaultOperationError`."""
    try:
        yield
    except requests.exceptions.Timeout:
        raise VaultOperationError(f"{action}: Vault at {addr} did not answer in time") from None
    except requests.exceptions.ConnectionError:
        raise VaultOperationError(f"{action}: cannot reach Vault at {addr}") from None
    except requests.exceptions.RequestException as error:
        raise VaultOperationError(f"{action}: request to {addr} failed ({type(error).__name__})") from None
    except hvac.exceptions.Unauthorized:
        raise VaultOperationError(f"{action}: Vault rejected the token (unauthorized)") from None
    except hvac.exceptions.Forbidden:
        raise VaultOperationError(
            f"{action}: permission denied (token invalid, expired, or its policies don't allow this)"
        ) from None
    except hvac.exceptions.VaultDown:
        raise VaultOperationError(f"{action}: Vault at {addr} is sealed or unavailable") from None
    except hvac.exceptions.VaultNotInitialized:
        raise VaultOperationError(f"{action}: Vault at {addr} is not initialized") from None
    except hvac.exceptions.InvalidPath as error:
        said = _vault_said(error)
        hint = " (is the mount enabled? run `sprocket-infra vault apply`)" if "no handler" in said else ""
        raise VaultOperationError(f"{action}: not found{said}{hint}") from None
    except hvac.exceptions.VaultError as error:
        raise VaultOperationError(
            f"{action}: Vault refused ({type(error).__name__}){_vault_said(error)}"
        ) from None


def connect(
    addr: str | None, token: str | None, *, timeout_s: float = DEFAULT_TIMEOUT_S, rejected_hint: str = ""
) -> hvac.Client:
    """An authenticated client for ``addr``, after checking the server answers and accepts ``token``;
    ``rejected_hint`` is added to the message when it does not."""
    if not addr:
        raise VaultOperationError("no Vault address: pass --vault-addr or set VAULT_ADDR")
    if not addr.startswith(("http://", "https://")):
        raise VaultOperationError(f"Vault address {addr!r} must start with http:// or https://")
    if not token:
        raise VaultOperationError("no Vault token: pass --vault-token or set VAULT_TOKEN")
    client = hvac.Client(url=addr, token=token, timeout=timeout_s)
    with vault_errors("checking the token", addr):
        try:
            client.auth.token.lookup_self()
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise VaultOperationError(
                f"Vault at {addr} rejected the token (wrong or expired){rejected_hint}"
            ) from None
    return client


class VaultKvStore:
    """:class:`~sprocket_infra.secrets.bootstrap.KvStore` over KV v2 with hvac."""

    def __init__(self, client: hvac.Client) -> None:
        self._client = client
        self._addr = str(client.url)

    def read(self, mount: str, path: str) -> StoredSecret:
        with vault_errors(f"reading {mount}/{path}", self._addr):
            try:
                response = self._client.secrets.kv.v2.read_secret_version(
                    path=path, mount_point=mount, raise_on_deleted_version=True
                )
            except hvac.exceptions.InvalidPath as error:
                if error.errors:  # e.g. "no handler for route": the mount itself is missing
                    raise
                return StoredSecret(version=_deleted_version(error.json))
        body = response["data"]
        return StoredSecret(version=int(body["metadata"]["version"]), data=body.get("data") or {})

    def write(self, mount: str, path: str, data: Mapping[str, str], *, cas: int) -> int:
        with vault_errors(f"writing {mount}/{path}", self._addr):
            try:
                response = self._client.secrets.kv.v2.create_or_update_secret(
                    path=path, secret=dict(data), cas=cas, mount_point=mount
                )
            except hvac.exceptions.InvalidRequest as error:
                if any("check-and-set" in str(item) for item in error.errors or []):
                    raise CasConflict(f"{mount}/{path} changed since it was read") from None
                raise
        return int(response["data"]["version"])


def _deleted_version(body: Any) -> int:
    """Version of a secret whose latest version is deleted (KV v2 answers 404 with metadata), else 0.

    A write with ``cas=0`` would fail for such a secret, so the bootstrap must know its real version.
    """
    if isinstance(body, dict):
        metadata = (body.get("data") or {}).get("metadata") or {}
        return int(metadata.get("version") or 0)
    return 0
