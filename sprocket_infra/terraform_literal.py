"""Strings from config or the catalog stay literal in the synthesized JSON.

Terraform reads every JSON string as a template: ``${...}`` is an expression and ``%{...}`` a directive,
evaluated on the operator's machine at plan time. cdktf passes plain Python strings through unchanged, so
a catalog env value of ``${file("~/.ssh/id_ed25519")}`` would be read from the deployer's disk and shipped
into a container. :func:`literal` doubles the leading ``$`` or ``%`` of every such sequence (Terraform's
own escapes, read back as the single characters), outside the ``${TfToken[...]}`` markers cdktf uses for
references of our own making, which must stay expressions.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\$\{TfToken\[TOKEN\.\d+\]\}")
_TEMPLATE_START = re.compile(r"([$%])\{")


def _escape(text: str) -> str:
    return _TEMPLATE_START.sub(r"\1\1{", text)


def has_token(value: str) -> bool:
    """Whether ``value`` holds a cdktf string token; answered here, without a round trip to the jsii
    kernel that ``Token.is_unresolved`` costs (a number token is a float and still needs the kernel)."""
    return _TOKEN.search(value) is not None


def literal(value: str) -> str:
    """``value`` with every ``${`` and ``%{`` outside cdktf tokens escaped (``$${``, ``%%{``)."""
    pieces: list[str] = []
    position = 0
    for token in _TOKEN.finditer(value):
        pieces += [_escape(value[position : token.start()]), token.group()]
        position = token.end()
    pieces.append(_escape(value[position:]))
    return "".join(pieces)
