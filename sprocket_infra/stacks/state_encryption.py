"""OpenTofu's ``terraform { encryption { ... } }`` block for one stack, as cdktf JSON.

State holds every generated password and every secret read from Vault; server-side encryption on the
bucket protects it from the storage provider's disks, not from anyone holding a key to the bucket or a copy
of the file. OpenTofu encrypts state and plan files on the operator's machine before they are written
(AES-GCM with a key PBKDF2 derives from a passphrase), so a state file or bucket object alone reveals
nothing. The passphrase is the sensitive variable :data:`PASSPHRASE_VARIABLE`, set only through the
environment (``TF_VAR_state_passphrase``), never in the JSON. ``terraform_remote_state`` reads (cdktf's
cross-stack references) decrypt with the same method, so every stack of an environment shares it.

In JSON syntax the ``method`` fields must be bare references (``"method.aes_gcm.state"``): OpenTofu
refuses a ``${...}`` template there.
"""

from __future__ import annotations

from typing import Any

from sprocket_infra.config.cloud import StateEncryption

PASSPHRASE_VARIABLE = "state_passphrase"  # noqa: S105 - a variable name
"""Also the environment variable's suffix: ``TF_VAR_state_passphrase``."""
_METHOD = "method.aes_gcm.state"
_FALLBACK = "method.unencrypted.migrate"


def encryption_block(mode: StateEncryption) -> dict[str, Any] | None:
    """The ``terraform.encryption`` value for ``mode``; ``None`` for ``off`` (no block at all).

    ``on`` enforces encryption of state and plans; ``migrate`` also reads unencrypted files (the one
    deploy that converts existing state) and writes them encrypted."""
    if mode == "off":
        return None
    methods: dict[str, Any] = {"aes_gcm": {"state": {"keys": "${key_provider.pbkdf2.state}"}}}
    target: dict[str, Any] = {"method": _METHOD}
    if mode == "on":
        files = {"state": {**target, "enforced": True}, "plan": {**target, "enforced": True}}
    else:
        methods["unencrypted"] = {"migrate": {}}
        target = {**target, "fallback": {"method": _FALLBACK}}
        files = {"state": target, "plan": target}
    return {
        "key_provider": {"pbkdf2": {"state": {"passphrase": f"${{var.{PASSPHRASE_VARIABLE}}}"}}},
        "method": methods,
        **files,
        "remote_state_data_sources": {"default": target},
    }
