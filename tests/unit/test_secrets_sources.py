"""Value sources for the bootstrap: environment, .env, Doppler JSON, their precedence and safe errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sprocket_infra.secrets.sources import (
    SourcedValue,
    SourceError,
    collect_values,
    values_from_doppler_json,
    values_from_dotenv,
    values_from_environ,
)

NAMES = ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "STEAM_API_KEY")


def _plain(values: dict[str, SourcedValue]) -> dict[str, tuple[str, str]]:
    return {name: (item.value, item.source) for name, item in values.items()}


def test_environ_takes_only_wanted_non_empty_names() -> None:
    environ = {"GOOGLE_CLIENT_ID": "id-1", "GOOGLE_CLIENT_SECRET": "", "PATH": "/bin"}

    assert _plain(values_from_environ(NAMES, environ)) == {"GOOGLE_CLIENT_ID": ("id-1", "environment")}


def test_dotenv_is_read_literally_and_ignores_other_names(tmp_path: Path) -> None:
    dotenv = tmp_path / "prod.env"
    dotenv.write_text(
        "# comment\n"
        "GOOGLE_CLIENT_ID=plain\n"
        "GOOGLE_CLIENT_SECRET='with ${HOME} and $dollar'\n"
        'export STEAM_API_KEY="quoted value"\n'
        "UNRELATED=x\n"
    )

    assert _plain(values_from_dotenv(dotenv, NAMES)) == {
        "GOOGLE_CLIENT_ID": ("plain", ".env file prod.env"),
        "GOOGLE_CLIENT_SECRET": ("with ${HOME} and $dollar", ".env file prod.env"),
        "STEAM_API_KEY": ("quoted value", ".env file prod.env"),
    }


def test_dotenv_entries_without_value_count_as_absent(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("GOOGLE_CLIENT_ID\nGOOGLE_CLIENT_SECRET=\n")

    assert values_from_dotenv(dotenv, NAMES) == {}


def test_fails_when_dotenv_file_is_missing(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"\.env file .*missing\.env does not exist"):
        values_from_dotenv(tmp_path / "missing.env", NAMES)


def test_fails_when_dotenv_is_not_utf8(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_bytes(b"GOOGLE_CLIENT_ID=\xff\xfe\n")

    with pytest.raises(SourceError, match="not UTF-8"):
        values_from_dotenv(dotenv, NAMES)


def test_doppler_json_keeps_wanted_names_and_drops_doppler_metadata(tmp_path: Path) -> None:
    download = tmp_path / "doppler.json"
    download.write_text(
        json.dumps({"DOPPLER_PROJECT": "sprocket", "GOOGLE_CLIENT_ID": "from-doppler", "STEAM_API_KEY": ""})
    )

    assert _plain(values_from_doppler_json(download, NAMES)) == {
        "GOOGLE_CLIENT_ID": ("from-doppler", "doppler json doppler.json")
    }


def test_fails_when_doppler_json_is_invalid_without_quoting_its_content(tmp_path: Path) -> None:
    download = tmp_path / "doppler.json"
    download.write_text('{"GOOGLE_CLIENT_SECRET": "canary-7f3a" oops}')

    with pytest.raises(SourceError, match=r"not valid JSON \(line 1, column") as caught:
        values_from_doppler_json(download, NAMES)
    assert "canary-7f3a" not in str(caught.value)


@pytest.mark.parametrize("document", [["a"], "text", 3])
def test_fails_when_doppler_json_is_not_an_object(tmp_path: Path, document: object) -> None:
    download = tmp_path / "doppler.json"
    download.write_text(json.dumps(document))

    with pytest.raises(SourceError, match="must be one object"):
        values_from_doppler_json(download, NAMES)


def test_fails_when_a_doppler_value_is_not_a_string_naming_the_key_only(tmp_path: Path) -> None:
    download = tmp_path / "doppler.json"
    download.write_text(json.dumps({"STEAM_API_KEY": {"nested": "canary-91bd"}}))

    with pytest.raises(SourceError, match="STEAM_API_KEY") as caught:
        values_from_doppler_json(download, NAMES)
    assert "canary-91bd" not in str(caught.value)


def test_precedence_is_environment_over_dotenv_over_doppler(tmp_path: Path) -> None:
    download = tmp_path / "doppler.json"
    download.write_text(
        json.dumps({"GOOGLE_CLIENT_ID": "d", "GOOGLE_CLIENT_SECRET": "d", "STEAM_API_KEY": "d"})
    )
    dotenv = tmp_path / ".env"
    dotenv.write_text("GOOGLE_CLIENT_SECRET=e\nSTEAM_API_KEY=e\n")

    merged = collect_values(NAMES, dotenv=dotenv, doppler_json=download, environ={"STEAM_API_KEY": "v"})

    assert _plain(merged) == {
        "GOOGLE_CLIENT_ID": ("d", "doppler json doppler.json"),
        "GOOGLE_CLIENT_SECRET": ("e", ".env file .env"),
        "STEAM_API_KEY": ("v", "environment"),
    }


def test_sourced_value_repr_never_shows_the_value() -> None:
    item = SourcedValue("canary-0c1d", "environment")

    assert "canary-0c1d" not in repr(item)
    assert "canary-0c1d" not in repr({"X": item})
