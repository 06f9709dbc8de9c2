"""The root token traded for ``vault-admin`` on a real OpenBao, and what that policy may and may not do.

One OpenBao node runs under the shipped entrypoint (``init-unseal.sh serve``) with the ``vault.hcl`` the
construct renders for ``local`` (loopback addresses; Traefik stood in for by 127.0.0.2, the one address
trusted to forward a client). The entrypoint initializes it and leaves the root token in the keys
directory; ``sprocket-infra vault bootstrap`` then runs exactly as an operator runs it on a copy of that
token. After that, every check uses the ``vault-admin`` token from the AppRole credentials it wrote:

* the root token is refused, and no file anywhere on the node or in the operator's directory holds it;
* every API path the synthesized layer2 and platform stacks use is allowed (for prod's Vault-only
  resources too, with prod's policy text on a dev server), and the real requests succeed;
* every dangerous request in :func:`refused_requests` gets 403;
* the login quota layer2 synthesizes answers 429 past its rate, per client address;
* a client address forwarded by the trusted proxy is what the audit log records; from anyone else the
  header is refused.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sprocket_infra.vault.access import vault_access
from sprocket_infra.vault.admin import (
    DENIED_WITHOUT_REQUEST,
    VAULT_ADMIN,
    admin_policy_hcl,
    admin_rules,
    login_quotas,
    refused_requests,
)
from sprocket_infra.vault.admin_bootstrap import approle_login
from sprocket_infra.vault.apply import Outcome, apply_access
from tests.conftest import Stacks
from tests.integration.openbao import BaoNode, running_entrypoint
from tests.integration.openbao_dev import DevServer, local_client
from tests.integration.processes import ServerProcess, wait_until
from tests.integration.vault_admin_harness import (
    capabilities,
    files_holding,
    paths_used,
    request,
    write_rendered_config,
)
from tests.integration.vault_unseal_harness import files_in, lookup_token

pytestmark = pytest.mark.integration

ENV = "local"
PROXY = "127.0.0.2"
"""Stands in for Traefik: a second loopback address, the only one trusted to forward a client address."""
CLI = Path(sys.executable).parent / "sprocket-infra"


@dataclass(frozen=True)
class Bootstrapped:
    node: BaoNode
    entry: ServerProcess
    operator_dir: Path
    root_token: str
    cli_output: str
    report: dict[str, Any]
    admin_token: str


@pytest.fixture(scope="module")
def bootstrapped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bootstrapped]:
    root = tmp_path_factory.mktemp("vault-admin")
    node = BaoNode(root / "node")
    write_rendered_config(node, trusted_proxy_cidrs=(f"{PROXY}/32",))
    with running_entrypoint(node.serve(VAULT_ROOT_TOKEN_POLL_SECONDS="1")) as entry:
        node.wait_unsealed(timeout_s=60)
        node.wait_active()
        assert files_in(node.keys_dir) == {"root-token", "unseal-keys"}
        root_token = node.root_token()
        # What an operator does: copy the token off the node, then run the bootstrap on the copy.
        operator_dir = root / "operator"
        operator_dir.mkdir(mode=0o700)
        shutil.copy(node.token_file, operator_dir / "root-token")
        result = subprocess.run(
            [
                str(CLI), "vault", "bootstrap", "--env", ENV, "--json",
                "--root-token-file", str(operator_dir / "root-token"),
                "--credentials-out", str(operator_dir / "vault-admin.json"),
                "--vault-addr", node.addr,
            ],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        admin_token = approle_login(node.addr, operator_dir / "vault-admin.json")
        yield Bootstrapped(
            node=node,
            entry=entry,
            operator_dir=operator_dir,
            root_token=root_token,
            cli_output=result.stdout + result.stderr,
            report=json.loads(result.stdout),
            admin_token=admin_token,
        )


def test_bootstrap_leaves_no_root_token_and_working_credentials(bootstrapped: Bootstrapped) -> None:
    node, report = bootstrapped.node, bootstrapped.report
    assert report["root_token_revoked"] is True
    assert report["root_token_file_removed"] is True
    assert report["policy"] == VAULT_ADMIN
    assert not lookup_token(node, bootstrapped.root_token)
    # The entrypoint sees the token refused and deletes its own copy: the keys dir keeps what unseals.
    wait_until(
        lambda: files_in(node.keys_dir) == {"unseal-keys"},
        timeout_s=30,
        what="the entrypoint to delete the revoked root token",
    )
    assert f"the root token in {node.token_file} is revoked; deleted the file" in bootstrapped.entry.output()
    left = files_holding([node.root, bootstrapped.operator_dir], bootstrapped.root_token)
    assert left == [], f"root token files left on disk: {left}"
    credentials = bootstrapped.operator_dir / "vault-admin.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert set(json.loads(credentials.read_text())) == {"role_id", "secret_id"}
    token = request(node.addr, bootstrapped.admin_token, "GET", "auth/token/lookup-self").json()["data"]
    assert VAULT_ADMIN in token["policies"]
    assert "root" not in token["policies"]
    everything = bootstrapped.cli_output + bootstrapped.entry.output()
    assert bootstrapped.root_token not in everything
    assert json.loads(credentials.read_text())["secret_id"] not in everything


def test_bootstrap_refuses_a_revoked_token_and_an_existing_credentials_file(
    bootstrapped: Bootstrapped, tmp_path: Path
) -> None:
    stale = tmp_path / "root-token"
    stale.write_text(bootstrapped.root_token)
    for out, expected in (
        (tmp_path / "new.json", "root token already revoked? Make a new one with `operator generate-root`"),
        (bootstrapped.operator_dir / "vault-admin.json", "exists; refusing to overwrite"),
    ):
        result = subprocess.run(
            [
                str(CLI), "vault", "bootstrap", "--env", ENV, "--root-token-file", str(stale),
                "--credentials-out", str(out), "--vault-addr", bootstrapped.node.addr,
            ],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 1
        assert expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert bootstrapped.root_token not in result.stdout + result.stderr


def _needed(stacks: Stacks) -> dict[str, set[str]]:
    needed: dict[str, set[str]] = {}
    for stack in ("layer2", "platform"):
        for path, caps in paths_used(stacks[stack]).items():
            needed.setdefault(path, set()).update(caps)
    return needed


def test_vault_admin_allows_every_path_the_local_stacks_use(
    bootstrapped: Bootstrapped, synth_stacks: Callable[[str], Stacks]
) -> None:
    needed = _needed(synth_stacks(ENV))
    granted = capabilities(bootstrapped.node.addr, bootstrapped.admin_token, sorted(needed))
    missing = {path: caps - granted[path] for path, caps in needed.items() if not caps <= granted[path]}
    assert missing == {}
    assert len(needed) >= 40, sorted(needed)  # every mount, policy, role, quota and KV secret of local


def test_vault_admin_allows_every_path_the_prod_stacks_use(
    server: DevServer, synth_stacks: Callable[[str], Stacks]
) -> None:
    """prod runs HashiCorp Vault (GitHub login, audit device from the API): its policy text, checked by
    OpenBao's ACL on a dev server (the ACL does not need the GitHub plugin to answer)."""
    stacks = synth_stacks("prod")
    access = vault_access("prod", contributors_read_secrets=False)
    rules = admin_rules(
        access, openbao=False, quotas=login_quotas(access, openbao=False, rate=1, interval_s=1)
    )
    root = local_client(server.addr, server.root_token)
    root.sys.create_or_update_policy(name="vault-admin-prod", policy=admin_policy_hcl(rules))
    token = root.auth.token.create(policies=["vault-admin-prod"], ttl="15m")["auth"]["client_token"]
    needed = _needed(stacks)
    assert any(path.startswith("auth/github/map/teams/") for path in needed)
    assert "sys/audit/stdout" in needed
    granted = capabilities(server.addr, token, sorted(needed))
    missing = {path: caps - granted[path] for path, caps in needed.items() if not caps <= granted[path]}
    assert missing == {}


def test_vault_admin_does_what_layer2_does(
    bootstrapped: Bootstrapped, synth_stacks: Callable[[str], Stacks]
) -> None:
    """The real requests, made with the vault-admin token: mounts, policies, token roles, the quota, KV
    writes and reads, and the provider's child token."""
    addr, token = bootstrapped.node.addr, bootstrapped.admin_token
    admin = local_client(addr, token)
    changes = apply_access(admin, vault_access(ENV))
    assert {change.outcome for change in changes} == {Outcome.CREATED}
    layer2 = synth_stacks(ENV)["layer2"]["resource"]
    for body in layer2["vault_token_auth_backend_role"].values():
        answer = request(
            addr, token, "POST", f"auth/token/roles/{body['role_name']}",
            json={"allowed_policies": body["allowed_policies"], "orphan": body["orphan"]},
        )  # fmt: skip
        assert answer.status_code == 204, answer.text
    for body in layer2["vault_quota_rate_limit"].values():
        answer = request(
            addr, token, "POST", f"sys/quotas/rate-limit/{body['name']}",
            json={"path": body["path"], "rate": body["rate"], "interval": body["interval"]},
        )  # fmt: skip
        assert answer.status_code == 204, answer.text
    admin.secrets.kv.v2.create_or_update_secret(
        path=f"{ENV}/manual/probe", secret={"k": "v"}, mount_point="infrastructure"
    )
    read = admin.secrets.kv.v2.read_secret_version(
        path=f"{ENV}/manual/probe", mount_point="infrastructure", raise_on_deleted_version=True
    )
    assert read["data"]["data"] == {"k": "v"}
    admin.secrets.kv.v2.delete_metadata_and_all_versions(
        path=f"{ENV}/manual/probe", mount_point="infrastructure"
    )
    child = admin.auth.token.create(ttl="10m")["auth"]
    assert child["policies"] == ["default", VAULT_ADMIN]


def test_vault_admin_is_refused_every_dangerous_request(bootstrapped: Bootstrapped) -> None:
    addr, token = bootstrapped.node.addr, bootstrapped.admin_token
    refused = refused_requests(vault_access(ENV))
    statuses = {
        f"{item.method} {item.path}": request(addr, token, item.method, item.path, json={}).status_code
        for item in refused
    }
    assert {request_: status for request_, status in statuses.items() if status != 403} == {}
    assert len(statuses) >= 20
    denied = capabilities(addr, token, list(DENIED_WITHOUT_REQUEST))
    assert denied == {path: {"deny"} for path in DENIED_WITHOUT_REQUEST}
    # Still sealed-off after all that: the server answers and is unsealed.
    assert bootstrapped.node.seal_status()["sealed"] is False


def test_login_quota_answers_429_per_client_past_its_rate(
    bootstrapped: Bootstrapped, synth_stacks: Callable[[str], Stacks]
) -> None:
    addr = bootstrapped.node.addr
    (quota,) = (
        body
        for body in synth_stacks(ENV)["layer2"]["resource"]["vault_quota_rate_limit"].values()
        if body["path"] == "auth/approle/login"
    )
    rate = int(quota["rate"])
    written = request(
        addr, bootstrapped.admin_token, "POST", f"sys/quotas/rate-limit/{quota['name']}",
        json={"path": quota["path"], "rate": quota["rate"], "interval": quota["interval"]},
    )  # fmt: skip
    assert written.status_code == 204, written.text
    wrong = {"role_id": "not-a-role", "secret_id": "not-a-secret"}

    def login(client: str) -> int:
        return request(
            addr, None, "POST", quota["path"], json=wrong, source=PROXY, forwarded_for=client
        ).status_code

    burst = [login("198.51.100.7") for _ in range(rate + 5)]
    assert burst[:rate] == [400] * rate, burst
    assert burst[rate:] == [429] * 5, burst
    # Another client behind the same proxy has its own budget.
    assert login("198.51.100.8") == 400


def test_audit_log_names_the_forwarded_client_only_from_the_trusted_proxy(
    bootstrapped: Bootstrapped,
) -> None:
    addr, token = bootstrapped.node.addr, bootstrapped.admin_token
    trusted = request(addr, token, "GET", "auth/token/lookup-self", source=PROXY, forwarded_for="203.0.113.7")
    assert trusted.status_code == 200
    spoofed = request(addr, token, "GET", "auth/token/lookup-self", forwarded_for="203.0.113.8")
    assert spoofed.status_code == 400
    assert "not authorized for x-forwarded-for" in spoofed.text

    def remote_addresses() -> set[str]:
        found = set()
        for line in bootstrapped.entry.output().splitlines():
            if line.startswith("{") and '"type":"request"' in line.replace(" ", ""):
                found.add(json.loads(line)["request"].get("remote_address", ""))
        return found

    wait_until(lambda: "203.0.113.7" in remote_addresses(), timeout_s=10, what="the audit entry")
    assert "203.0.113.8" not in remote_addresses()


def test_entrypoint_keeps_the_root_token_while_it_works_or_vault_cannot_say(tmp_path: Path) -> None:
    """The entrypoint deletes the stored root token only on Vault's definite refusal: not while the token
    works, not while the server is sealed (its answer is then 503, not 403), and at once after a revoke."""
    node = BaoNode(tmp_path / "node")
    write_rendered_config(node, trusted_proxy_cidrs=())
    with running_entrypoint(node.serve(VAULT_ROOT_TOKEN_POLL_SECONDS="1")) as entry:
        node.wait_unsealed(timeout_s=60)
        node.wait_active()
        token = node.root_token()
        polls = entry.output().count("init-unseal")
        assert node.cli("operator", "seal", token=token).returncode == 0
        # Several polls against the sealed server (each takes a second): the file stays.
        wait_until(lambda: node.seal_status()["sealed"] is True, timeout_s=10, what="sealed")
        assert lookup_token(node, token) is False  # the CLI cannot check it either while sealed
        time.sleep(3)  # three of the entrypoint's polls
        assert node.token_file.exists()
        assert entry.output().count("init-unseal") == polls, "the watcher logged something while sealed"
    with running_entrypoint(node.serve(VAULT_ROOT_TOKEN_POLL_SECONDS="1")) as entry:
        node.wait_unsealed(timeout_s=60)
        node.wait_active()
        assert node.token_file.exists()
        assert node.cli("token", "revoke", "-self", token=token).returncode == 0
        wait_until(lambda: not node.token_file.exists(), timeout_s=30, what="the revoked token's file to go")
        assert files_in(node.keys_dir) == {"unseal-keys"}
