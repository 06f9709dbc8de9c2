"""Servers the e2e deploys run against: one private Swarm and one OpenBao for the whole run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.engine import progress, require_tools
from tests.e2e.swarm import Swarm, private_swarm
from tests.integration.openbao_dev import DevServer, openbao_dev_server


@pytest.fixture(scope="session")
def swarm() -> Iterator[Swarm]:
    require_tools()
    progress("starting a private dockerd and `swarm init`")
    with private_swarm() as running_swarm:
        yield running_swarm


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """OpenBao, initialized and unsealed: what layer2's and platform's Vault provider talk to.

    Dev mode (in-memory storage, a known root token) stands in for the Vault that layer1 deploys into the
    Swarm: that one's image cannot be pulled here, so its tasks never run.
    """
    with openbao_dev_server(tmp_path_factory.mktemp("openbao")) as server:
        yield server
