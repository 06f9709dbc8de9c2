"""The names catalog entries may refer to, gathered from the modules that define them.

Kept apart from the model so the model imports neither the secrets manifest nor the settings sections,
and a test can validate a catalog against a vocabulary of its own.
"""

from __future__ import annotations

from sprocket_infra.catalog.model import Vocabulary
from sprocket_infra.config import DEFAULT_ENVIRONMENT
from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.vault.access import PLATFORM


def default_vocabulary() -> Vocabulary:
    """Operator-provided secrets of the platform mount (the one the platform policy reads) and every
    settings section.

    Secret *names* are the same in every environment (only their Vault paths differ), so the default
    environment's manifest lists them.
    """
    from sprocket_infra.platform_config.sections import SECTIONS

    return Vocabulary(
        secrets=frozenset(external_secrets(DEFAULT_ENVIRONMENT, mount=PLATFORM)),
        sections={name: section.needs for name, section in SECTIONS.items()},
    )
