"""JSON settings files whose values may be cdktf tokens (another stack's database host, say).

A token is a placeholder string until Terraform runs, so a document holding one can't be base64-encoded or
hashed in Python. :func:`json_document` returns plain JSON text when there is no token, and otherwise a
Terraform expression that rebuilds the same text at deploy time: the literal pieces travel base64-encoded
(no quoting rules to get wrong), the tokens as references. Number tokens (ports) stay JSON numbers.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

from cdktf import Fn, Token

from sprocket_infra.terraform_literal import has_token

_STRING_TOKEN = re.compile(r"(\$\{TfToken\[TOKEN\.\d+\]\})")


def json_document(data: Mapping[str, Any]) -> str:
    """``data`` as indented JSON with sorted keys, or a token standing for that text."""
    number_tokens: list[str] = []
    text = json.dumps(_strings_for_number_tokens(data, number_tokens), indent=2, sort_keys=True) + "\n"
    for token in number_tokens:
        text = text.replace(f'"{token}"', token)
    if not has_token(text):
        return text
    pieces = [piece for piece in _STRING_TOKEN.split(text) if piece]
    return Fn.join("", [piece if _STRING_TOKEN.fullmatch(piece) else _literal(piece) for piece in pieces])


def _literal(text: str) -> str:
    return Fn.base64decode(base64.b64encode(text.encode()).decode())


def _strings_for_number_tokens(value: Any, seen: list[str]) -> Any:
    """A copy of ``value`` with each number token replaced by its string form (collected in ``seen``)."""
    if isinstance(value, Mapping):
        return {key: _strings_for_number_tokens(item, seen) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strings_for_number_tokens(item, seen) for item in value]
    # Only a float can be a number token (an int never is), so only floats are asked of the kernel.
    if isinstance(value, float) and Token.is_unresolved(value):
        token = Token.as_string(value)
        seen.append(token)
        return token
    return value


def text(value: str | float) -> str:
    """``value`` for use inside a string (a URL, say), keeping a number token a token."""
    if not isinstance(value, float):
        return str(value)  # a string token is already its string form; an int is never a token
    return Token.as_string(value) if Token.is_unresolved(value) else str(value)
