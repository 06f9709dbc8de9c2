"""Per-resource checkov skips that survive synthesis, written next to the resource they excuse.

In HCL a skip is a ``#checkov:skip=ID:reason`` comment inside the resource. cdktf writes JSON, which has no
comments, and checkov 3.3.30's ``terraform_json`` runner reads no skips at all (it hands every check an
empty skip list; bridgecrewio/checkov#4634). The only alternative it offers, ``--skip-check``, turns a check
off for every resource of every stack, which would hide the next real finding.

So a skip goes into the resource's ``"//"`` object, which Terraform ignores, in the shape checkov documents
for CDK code: ``"//": {"checkov": {"skip": [{"id": "CKV_...", "comment": "why"}]}}``. The security scan
test (``tests/integration/test_security_scan.py``) honours exactly these entries, and fails on a skip that
no longer matches a failing check, so a stale excuse can't linger after the construct is fixed.
"""

from __future__ import annotations

import re
from typing import Any

from cdktf import TerraformResource

_CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+(_[A-Z0-9]+)*$")
SKIP_PATH = ("//", "checkov", "skip")
"""Where the skips sit in a synthesized resource body (readers walk these keys)."""


def declared_skips(body: dict[str, Any]) -> dict[str, str]:
    """``{check id: reason}`` of the skips in one synthesized resource body (empty when it has none)."""
    node: Any = body
    for key in SKIP_PATH:
        node = node.get(key, {}) if isinstance(node, dict) else {}
    return {item["id"]: item["comment"] for item in node or []}


def skip_check(resource: TerraformResource, check_id: str, reason: str) -> None:
    """Excuse ``resource`` from checkov check ``check_id``; ``reason`` says why it does not apply here.

    Calls add up: the override replaces the whole list, so the skips already on the resource are read back
    from its own Terraform JSON first.
    """
    if not _CHECK_ID.fullmatch(check_id):
        raise ValueError(f"{check_id!r} is not a checkov check id (e.g. CKV_DIO_1, CKV2_AWS_6)")
    if not reason.strip():
        raise ValueError(f"skip of {check_id} needs a reason a reviewer can judge")
    blocks = resource.to_terraform()["resource"][resource.terraform_resource_type]
    existing = declared_skips(blocks[resource.friendly_unique_id])
    if check_id in existing:
        raise ValueError(f"{check_id} is already skipped on {resource.node.path}")
    skips = [{"id": key, "comment": value} for key, value in {**existing, check_id: reason.strip()}.items()]
    resource.add_override(".".join(SKIP_PATH), skips)
