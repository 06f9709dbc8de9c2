"""A deliberately strict parser for the router rules our labels use.

The routing tests derive the requests they send from the rules themselves, so a rule the parser only half
understood would silently shrink what is tested. We therefore accept exactly the shapes
``sprocket_infra.routing`` emits: a disjunction of one matcher with one literal argument each
(``Host(`a`) || Host(`b`)``, or ``HostSNI(...)`` for TCP routers), optionally narrowed by a path prefix
(``Host(`a`) && PathPrefix(`/p`)`` or ``(Host(`a`) || Host(`b`)) && PathPrefix(`/p`)``). Anything else
raises: a new shape has to be taught here on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One matcher call: Name(`literal`) or Name("literal"); Traefik v3 accepts both quote styles.
_CALL = re.compile(r"\s*(?P<matcher>[A-Za-z]+)\(\s*(?:`(?P<bt>[^`]*)`|\"(?P<dq>[^\"]*)\")\s*\)\s*")


class UnexpectedRuleError(ValueError):
    """The rule is not of the ``M(`a`) || M(`b`)`` shape the routing tests know how to exercise."""


def parse_matcher_disjunction(rule: str, matcher: str) -> list[str]:
    """Return the literal arguments of ``matcher(`x`) || matcher(`y`) ...``, in order.

    Raises ``UnexpectedRuleError`` for any other matcher, operator (``&&``, ``!``), grouping, multiple
    arguments in one call, empty literals or duplicates, so a surprising rule fails the test loudly.
    """
    if not rule.strip():
        raise UnexpectedRuleError("empty rule")
    values: list[str] = []
    for part in rule.split("||"):
        match = _CALL.fullmatch(part)
        if match is None:
            raise UnexpectedRuleError(f"cannot parse {part.strip()!r} in rule {rule!r}")
        if match["matcher"] != matcher:
            raise UnexpectedRuleError(
                f"expected only {matcher}(...) in rule {rule!r}, got {match['matcher']}"
            )
        value = match["bt"] if match["bt"] is not None else match["dq"]
        if not value or value != value.strip():
            raise UnexpectedRuleError(f"empty or padded {matcher} literal in rule {rule!r}")
        if value in values:
            raise UnexpectedRuleError(f"{value!r} appears twice in rule {rule!r}")
        values.append(value)
    return values


def parse_host_rule(rule: str) -> list[str]:
    """Host names and IPs of an HTTP router rule ``Host(`a`) || Host(`b`)``."""
    return parse_matcher_disjunction(rule, "Host")


def parse_host_sni_rule(rule: str) -> list[str]:
    """Server names of a TCP router rule ``HostSNI(`a`) || HostSNI(`b`)``."""
    return parse_matcher_disjunction(rule, "HostSNI")


@dataclass(frozen=True)
class HttpRule:
    """What an HTTP router rule matches: any of ``hosts``, and if set only paths under ``path_prefix``."""

    hosts: list[str]
    path_prefix: str | None = None

    def probe_path(self, leaf: str = "probe") -> str:
        """A request path this rule matches (inside the prefix, if any)."""
        return f"{(self.path_prefix or '').rstrip('/')}/{leaf}"


def parse_http_rule(rule: str) -> HttpRule:
    """Parse ``<hosts>`` or ``<hosts> && PathPrefix(`/p`)``, where ``<hosts>`` is a Host disjunction
    (parenthesised when it has several terms and a prefix follows, as Traefik's precedence requires)."""
    parts = rule.split("&&")
    if len(parts) == 1:
        return HttpRule(parse_host_rule(rule))
    if len(parts) != 2:
        raise UnexpectedRuleError(f"more than one && in rule {rule!r}")
    hosts_part, prefix_part = parts[0].strip(), parts[1]
    prefixes = parse_matcher_disjunction(prefix_part, "PathPrefix")
    if len(prefixes) != 1:
        raise UnexpectedRuleError(f"expected one PathPrefix in rule {rule!r}")
    prefix = prefixes[0]
    if not prefix.startswith("/"):
        raise UnexpectedRuleError(f"PathPrefix {prefix!r} does not start with / in rule {rule!r}")
    grouped = hosts_part.startswith("(") and hosts_part.endswith(")")
    hosts = parse_host_rule(hosts_part[1:-1] if grouped else hosts_part)
    if len(hosts) > 1 and not grouped:
        raise UnexpectedRuleError(f"ungrouped || before && in rule {rule!r}: && binds tighter than ||")
    return HttpRule(hosts, prefix)
