"""The names catalog entries may refer to, gathered from the modules that define them.

Kept apart from the model so the model imports neither the secrets manifest nor the settings sections,
and a test can validate a catalog against a vocabulary of its own.
"""

from __future__ import annotations

from sprocket_infra.catalog.model import Vocabulary
from sprocket_infra.catalog.secrets import platform_secrets
from sprocket_infra.config import DEFAULT_ENVIRONMENT


def default_vocabulary() -> Vocabulary:
    """Operator-provided platform secrets and every settings section.

    Secret *names* are the same in every environment (only their Vault paths differ), so the default
    environment's manifest lists them.
    """
    from sprocket_infra.platform_config.sections import SECTIONS

    return Vocabulary(
        secrets=frozenset(platform_secrets(DEFAULT_ENVIRONMENT)),
        sections={name: section.needs for name, section in SECTIONS.items()},
    )
