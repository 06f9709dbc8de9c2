"""checkov over every environment's synthesized stacks: zero failed checks, and proof that checks ran.

One checkov process scans all ``cdk.tf.json`` files of local, lan and prod (its start-up and graph build
dominate, so one run instead of nine saves most of the time) with two frameworks: ``terraform_json`` for
resource misconfigurations (private, versioned Spaces buckets, open firewalls, ...) and ``secrets`` for
credentials typed into a construct as literals, which no canary can catch.

checkov lives in ``.venv-scan`` (``make test`` installs it) because its pinned dependencies clash with ours.
It is kept offline by flags, not by luck: without them it asks the Prisma Cloud API for check metadata and
the Python package index for a newer checkov on every run. It also gets a fresh HOME and working
directory, so no ``.checkov.yaml`` or ``BC_API_KEY`` of the machine can switch the platform integration
back on.

There are no excuses: checkov's ``terraform_json`` runner reads no per-resource skips (an empty skip list
for every check, bridgecrewio/checkov#4634) and ``--skip-check`` would turn a check off everywhere, so a
finding is fixed in the construct.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sprocket_infra.stacks.base import STACK_NAMES
from tests.conftest import ENVIRONMENTS, Stacks

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CHECKOV = REPO / ".venv-scan" / "bin" / "checkov"
SCAN_TIMEOUT_S = 600
FRAMEWORKS = ("terraform_json", "secrets")

OFFLINE_ENV = {
    # checkov.common.util.banner asks the package index for a newer checkov at import unless this is set.
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    # Same switch as --skip-download: no guideline/ID mapping or run config from the Prisma Cloud API.
    "BC_SKIP_MAPPING": "TRUE",
    # Anything that still tried would meet a closed port on this machine instead of the internet.
    **dict.fromkeys(("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"), "http://127.0.0.1:1"),
    "NO_PROXY": "",
    "no_proxy": "",
}

EXPECTED_CHECKS: dict[str, frozenset[str]] = {
    "digitalocean_spaces_bucket": frozenset({"CKV_DIO_1", "CKV_DIO_3"}),
    "digitalocean_firewall": frozenset({"CKV_DIO_4"}),
    "digitalocean_droplet": frozenset({"CKV_DIO_2"}),
}
"""checkov's own checks for resource types we may declare: each such resource must show up with them."""


@dataclass(frozen=True)
class Finding:
    """One check result as checkov reported it."""

    framework: str
    check_id: str
    check_name: str
    result: str
    """``PASSED``, ``FAILED`` or ``SKIPPED``."""
    file: Path
    resource: str
    """The logical id for ``terraform_json`` (checkov prefixes it with ``resource.``); a hash for secrets."""
    lines: tuple[int, int]


@dataclass(frozen=True)
class Scan:
    files: dict[tuple[str, str], Path]
    """``{(environment, stack): cdk.tf.json}``, every file scanned."""
    findings: tuple[Finding, ...]
    parsing_errors: tuple[str, ...]

    def stack_of(self, path: Path) -> str:
        """``prod/layer2`` for a scanned file: the temporary directory means nothing to a reader."""
        return next(
            (f"{env}/{stack}" for (env, stack), known in self.files.items() if known == path), str(path)
        )

    def describe(self, finding: Finding) -> str:
        first, last = finding.lines
        return (
            f"{finding.check_id} {finding.check_name!r} on {finding.resource} "
            f"in {self.stack_of(finding.file)} (cdk.tf.json lines {first}-{last})"
        )


def _resources(stack: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(type, logical id, body)`` of every resource in one synthesized stack."""
    for resource_type, blocks in stack.get("resource", {}).items():
        for logical_id, body in blocks.items():
            yield resource_type, logical_id, body


def _findings(report: dict[str, Any]) -> Iterator[Finding]:
    for key in ("passed_checks", "failed_checks", "skipped_checks"):
        for record in report["results"].get(key, []):
            yield Finding(
                framework=report["check_type"],
                check_id=record["check_id"],
                check_name=record["check_name"],
                result=record["check_result"]["result"],
                file=Path(record["file_abs_path"]).resolve(),
                resource=record["resource"].rsplit(".", 1)[-1],
                lines=tuple(record["file_line_range"]),
            )


def run_checkov(files: list[Path], workdir: Path) -> list[dict[str, Any]]:
    """checkov's JSON reports (one per framework with results) for ``files``, run offline in ``workdir``."""
    args = [str(CHECKOV), "--framework", *FRAMEWORKS, "--skip-download", "--compact", "--output", "json"]
    for path in files:
        args += ["-f", str(path)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), **OFFLINE_ENV}
    done = subprocess.run(
        args, cwd=workdir, env=env, capture_output=True, text=True, timeout=SCAN_TIMEOUT_S, check=False
    )
    # 0: nothing failed, 1: some check failed; anything else is checkov itself going wrong.
    assert done.returncode in (0, 1), f"checkov exited {done.returncode}:\n{done.stderr[-3000:]}"
    document = json.loads(done.stdout)
    reports = document if isinstance(document, list) else [document]
    # With no result at all checkov prints a bare summary without "results".
    return [report for report in reports if "results" in report]


@pytest.fixture(scope="module")
def scan(synth_outdir: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Scan:
    if not CHECKOV.is_file():
        message = f"checkov is not installed at {CHECKOV.relative_to(REPO)}; `make test` installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    files = {
        (environment, stack): (synth_outdir(environment) / "stacks" / stack / "cdk.tf.json").resolve()
        for environment in ENVIRONMENTS
        for stack in STACK_NAMES
    }
    reports = run_checkov(list(files.values()), tmp_path_factory.mktemp("checkov"))
    return Scan(
        files=files,
        findings=tuple(finding for report in reports for finding in _findings(report)),
        parsing_errors=tuple(error for report in reports for error in report["results"]["parsing_errors"]),
    )


def test_no_check_fails(scan: Scan) -> None:
    failed = [f for f in scan.findings if f.result == "FAILED"]
    listing = "\n".join(f"  {scan.describe(finding)}" for finding in failed)
    assert not failed, f"checkov: {len(failed)} failed check(s); fix the construct:\n{listing}"


def test_checks_ran_on_every_covered_resource(scan: Scan, synth_stacks: Callable[[str], Stacks]) -> None:
    """Guards against a vacuous pass: checkov parsed every file and checked every resource it knows."""
    assert not scan.parsing_errors, f"checkov could not parse: {list(scan.parsing_errors)}"
    seen = {(f.file, f.resource, f.check_id) for f in scan.findings if f.framework == "terraform_json"}
    expected = {
        (path, logical_id, check_id)
        for (environment, stack), path in scan.files.items()
        for resource_type, logical_id, _ in _resources(synth_stacks(environment)[stack])
        for check_id in EXPECTED_CHECKS.get(resource_type, ())
    }
    assert expected, "no resource of a type checkov checks (e.g. prod's Spaces buckets): scan proves nothing"
    missing = sorted(
        f"  {check_id} on {logical_id} in {scan.stack_of(path)}"
        for path, logical_id, check_id in expected - seen
    )
    assert not missing, "checkov did not run these checks:\n" + "\n".join(missing)
