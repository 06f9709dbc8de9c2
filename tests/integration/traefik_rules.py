"""A deliberately strict parser for the router rules our labels use.

The routing tests derive the requests they send from the rules themselves, so a rule the parser only half
understood would silently shrink what is tested. We therefore accept exactly one shape, a disjunction of a
single matcher with one literal argument each (``Host(`a`) || Host(`b`)``, or ``HostSNI(...)`` for TCP
routers), and raise on anything else: a new shape has to be taught here on purpose.
"""

from __future__ import annotations

import re

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
