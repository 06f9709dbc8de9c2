"""Post ``verify``'s failures to the team's Discord webhook, the same one Gatus alerts on.

Gatus watches routed hosts from inside the Swarm; what it cannot see (Vault sealed behind a healthy
Traefik, a certificate close to expiry on a host that still answers, a service down to 0/1 replicas) is
exactly what ``verify`` checks, so a scheduled ``verify --alert`` fills that gap without another alerting
system. The webhook URL is a secret: it is read from Vault at run time (the operator-provided
``gatus-alert-webhook``), and neither it nor anything derived from it is ever printed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from sprocket_infra.ops.results import VerifyReport
from sprocket_infra.secrets.manifest import SecretRef
from sprocket_infra.vault.client import VaultKvStore, VaultOperationError

DISCORD_CONTENT_MAX = 2000
"""Discord refuses a message whose ``content`` is longer."""


class AlertError(RuntimeError):
    """The alert could not be sent; the message never contains the webhook URL."""


def webhook_url(store: VaultKvStore, ref: SecretRef) -> str:
    stored = store.read(ref.mount.path, ref.path)
    value = stored.data.get(ref.key)
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise VaultOperationError(
            f"{ref.address}: no webhook URL there; set {ref.env_var}, run `sprocket-infra secrets bootstrap`"
        )
    return value


def alert_payload(report: VerifyReport, *, limit: int = DISCORD_CONTENT_MAX) -> dict[str, str]:
    """A Discord message naming every failed check (cut to ``limit`` characters, saying how many more)."""
    failed = [result for result in report.results if result.failed]
    header = f"**sprocket-infra verify {report.environment}: {len(failed)} check(s) failing**"
    lines = [header]
    for index, result in enumerate(failed):
        line = f"- {result.kind} `{result.name}`: {result.detail}"
        rest = len(failed) - index
        if sum(len(item) + 1 for item in [*lines, line]) + 30 > limit:
            lines.append(f"... and {rest} more")
            break
        lines.append(line)
    return {"username": "sprocket-infra verify", "content": "\n".join(lines)[:limit]}


def send_alert(url: str, payload: dict[str, str], *, timeout_s: float) -> None:
    if not url.startswith(("https://", "http://")):
        raise AlertError("alert webhook: not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked just above
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "sprocket-infra-verify"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as error:
        raise AlertError(f"alert webhook refused the alert: HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise AlertError(f"alert webhook unreachable: {type(reason).__name__}") from None
