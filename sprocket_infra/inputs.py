"""Every input file of a synth, read and checked together, without importing cdktf or a provider.

``main.py`` calls :func:`load_inputs` before it imports anything that starts the jsii kernel, so a bad
input is reported in a fraction of a second (tests/unit/test_input_imports.py holds it to that).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sprocket_infra.catalog import CATALOG_FILE, Catalog, load_catalog
from sprocket_infra.catalog.checks import check_environment
from sprocket_infra.config import CONFIG_DIR, ConfigError, Environment, load_environment
from sprocket_infra.config.load import environment_file, shown_path
from sprocket_infra.input_checks import Sources, input_problems
from sprocket_infra.placement_checks import placement_problems


@dataclass(frozen=True, kw_only=True)
class Inputs:
    """Everything a synth reads from files, already validated."""

    environment: Environment
    catalog: Catalog
    sources: Sources | None = None
    """The files as they were read (``sources.environment``, ``sources.catalog``), for messages raised
    later, e.g. by the synth-time routing checks. None where inputs were built without files."""


def _config_dir() -> Path:
    return Path(os.environ.get("SPROCKET_CONFIG_DIR") or CONFIG_DIR)


def environment_source(name: str) -> str:
    """The environment file of ``name`` as messages name it: the one actually read."""
    return shown_path(environment_file(name, config_dir=_config_dir()))


def load_inputs(name: str | None = None) -> Inputs:
    """Read the environment file and the service catalog and check them against each other.

    Every problem raises :class:`~sprocket_infra.config.ConfigError` here, before a single construct
    exists, so a bad input never leaves a half-written ``cdktf.out``. ``SPROCKET_CONFIG_DIR`` and
    ``SPROCKET_CATALOG`` point at other files (e.g. environment files kept outside the repository);
    messages name the files as they were read.
    """
    environment = load_environment(name, config_dir=_config_dir())
    catalog = load_catalog(Path(os.environ.get("SPROCKET_CATALOG") or CATALOG_FILE))
    sources = Sources(environment=environment_source(environment.name), catalog=catalog.source)
    check_environment(catalog, environment, source=sources.environment)
    problems = [
        *input_problems(environment, catalog, sources),
        *placement_problems(environment, catalog, sources),
    ]
    if problems:
        raise ConfigError("\n".join(str(problem) for problem in problems))
    return Inputs(environment=environment, catalog=catalog, sources=sources)
