"""Property: whatever is done to a shipped input file, reading it ends in a checked result or one clear error.

Hypothesis mutates a copy of a shipped environment file or of the catalog (a value replaced by one of
another type, a key removed or added, a line repeated, dropped or cut, stray text inserted) and
:func:`~sprocket_infra.inputs.load_inputs` must then either return inputs or raise ``ConfigError`` whose
every line starts with the path of a file it read (or names ``SPROCKET_ENV``). Anything else, a
traceback in ``main.py``'s terms, fails the test. The strict YAML limits keep every example bounded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sprocket_infra.catalog import CATALOG_FILE
from sprocket_infra.config import CONFIG_DIR, ConfigError
from sprocket_infra.inputs import load_inputs

ENVIRONMENTS = ("local", "lan", "prod")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "0.0.0.0",  # noqa: S104 - a value to refuse
            "/",
            "latest",
            "node.role==boss",
            "yes",
            "16",
            "x" * 300,
            "{self}",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _mutate_data(data: Any, draw: st.DataObject) -> Any:
    paths = [path for path in _paths(data) if path]
    path = draw.draw(st.sampled_from(paths), label="path")
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    action = draw.draw(st.sampled_from(["replace", "delete", "add"]), label="action")
    if action == "replace":
        parent[path[-1]] = draw.draw(values, label="value")
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw.draw(st.text(min_size=1, max_size=12), label="new key")] = draw.draw(values)
    else:
        parent.append(draw.draw(values))
    return data


def _mutate_text(text: str, draw: st.DataObject) -> str:
    lines = text.splitlines(keepends=True)
    index = draw.draw(st.integers(0, len(lines) - 1), label="line")
    action = draw.draw(st.sampled_from(["repeat", "drop", "cut", "insert"]), label="action")
    if action == "repeat":
        lines.insert(index, lines[index])
    elif action == "drop":
        del lines[index]
    elif action == "cut":
        return text[: draw.draw(st.integers(0, len(text)), label="cut at")]
    else:
        lines.insert(index, draw.draw(st.text(max_size=30), label="inserted") + "\n")
    return "".join(lines)


@contextmanager
def _copies() -> Iterator[tuple[Path, Path]]:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        shutil.copytree(CONFIG_DIR, root / "config")
        shutil.copy(CATALOG_FILE, root / "services.yaml")
        env = {"SPROCKET_CONFIG_DIR": str(root / "config"), "SPROCKET_CATALOG": str(root / "services.yaml")}
        with mock.patch.dict(os.environ, env):
            yield root / "config", root / "services.yaml"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    environment=st.sampled_from(ENVIRONMENTS),
    target=st.sampled_from(["environment", "defaults", "catalog"]),
    on_text=st.booleans(),
    draw=st.data(),
)
def test_a_mutated_input_gives_inputs_or_one_clear_error(
    environment: str, target: str, on_text: bool, draw: st.DataObject
) -> None:
    with _copies() as (config_dir, catalog):
        path = {
            "environment": config_dir / f"{environment}.yaml",
            "defaults": config_dir / "defaults.yaml",
            "catalog": catalog,
        }[target]
        text = path.read_text()
        if on_text:
            path.write_text(_mutate_text(text, draw))
        else:
            path.write_text(yaml.safe_dump(_mutate_data(yaml.safe_load(text), draw), allow_unicode=True))
        files = (str(config_dir / f"{environment}.yaml"), str(config_dir / "defaults.yaml"), str(catalog))
        try:
            load_inputs(environment)
        except ConfigError as error:
            lines = str(error).splitlines()
            assert lines, "an empty error message"
            for line in lines:
                assert line.startswith(files) or line.startswith("SPROCKET_ENV: "), line
                assert len(line) < 1000, line[:200]
