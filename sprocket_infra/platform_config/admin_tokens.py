"""An entry's generated admin token as files: the server's config file holding it, a bare file per client.

DGraph, for one, takes its admin token only from ``--security token=...``: on the command line (and so in
the plan's JSON and ``docker service inspect``), in an environment variable, or in its config file. Only the
last keeps it out of both, so the server gets a config file rendered from the catalog's template as a
Docker secret, with the token read from Vault at deploy time (``%s`` in a raw string: nothing in the
template becomes a Terraform expression).
"""

from __future__ import annotations

from sprocket_infra import naming
from sprocket_infra.catalog.model import TOKEN_PLACEHOLDER
from sprocket_infra.catalog.placeholders import PLACEHOLDER
from sprocket_infra.constructs.swarm_service import SecretFile
from sprocket_infra.constructs.vault_docker_secrets import VaultDockerSecrets
from sprocket_infra.platform_config.context import RenderContext
from sprocket_infra.platform_config.render import placeholder_values

CONFIG_FILE_NAME = "admin-token-config"
"""Name (after the owner) of the Docker secret holding the server's config file."""


def config_template(ctx: RenderContext) -> str:
    """The entry's config template with its placeholders filled and ``%s`` where the token goes."""
    token = ctx.entry.admin_token
    assert token is not None
    values = {name: value.replace("%", "%%") for name, value in placeholder_values(ctx).items()}
    values[TOKEN_PLACEHOLDER] = "%s"
    return PLACEHOLDER.sub(lambda match: values[match[1]], token.template.replace("%", "%%"))


def admin_token_files(
    ctx: RenderContext, vault_secrets: VaultDockerSecrets, *, owner: str, mode: int
) -> tuple[SecretFile, ...]:
    """The config file if the entry has an admin token, and the bare token of every server that names the
    entry among its clients."""
    files = []
    if ctx.entry.admin_token is not None:
        secret = vault_secrets.docker_secret_file(
            owner=owner,
            owner_id=ctx.key,
            name=CONFIG_FILE_NAME,
            template=config_template(ctx),
            refs=[ctx.layer2.admin_tokens[ctx.key]],
        )
        files.append(SecretFile(secret=secret, target=ctx.entry.admin_token.config, mode=mode))
    for key, entry in sorted(ctx.catalog.services.items()):
        if entry.admin_token is not None and ctx.key in entry.admin_token.clients:
            secret = vault_secrets.docker_secret(ctx.layer2.admin_tokens[key], owner=owner, owner_id=ctx.key)
            files.append(
                SecretFile(secret=secret, target=naming.secret_file(naming.admin_token_file(key)), mode=mode)
            )
    return tuple(files)
