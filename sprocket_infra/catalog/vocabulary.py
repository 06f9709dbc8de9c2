"""The names catalog entries may refer to, gathered from the modules that define them.

Kept apart from the model so the model imports neither the secrets manifest nor the settings sections,
and a test can validate a catalog against a vocabulary of its own.
"""

from __future__ import annotations

from sprocket_infra.catalog.model import Vocabulary
from sprocket_infra.catalog.sections import SECTION_NEEDS
from sprocket_infra.secrets.external import common_secret_names
from sprocket_infra.vault.access import PLATFORM


def default_vocabulary() -> Vocabulary:
    """Operator-provided secrets of the platform mount (the one the platform policy reads) and every
    settings section.

    Only the secrets every environment has: the catalog knows no environment, and an entry some
    configurations add (the AWS bucket key) reaches services through layer2, never by name.
    """
    return Vocabulary(secrets=common_secret_names(mount=PLATFORM), sections=SECTION_NEEDS)
