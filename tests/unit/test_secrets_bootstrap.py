"""Bootstrap and check logic against an in-memory KV v2: statuses, one write per secret, CAS, idempotence."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from sprocket_infra.secrets.bootstrap import CasConflict, Status, StoredSecret, bootstrap, check
from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.secrets.manifest import SecretManifest, SecretRef
from sprocket_infra.secrets.sources import SourcedValue
from sprocket_infra.vault.access import PLATFORM
from tests.unit.fake_kv import FakeKv

MANIFEST = external_secrets("local")


def _values(**plain: str) -> dict[str, SourcedValue]:
    return {name: SourcedValue(value, "environment") for name, value in plain.items()}


def _all_values(prefix: str = "v") -> dict[str, SourcedValue]:
    return _values(**{name: f"{prefix}-{name.lower()}" for name in MANIFEST.env_vars})


def _statuses(report_entries: tuple) -> dict[str, Status]:
    return {entry.ref.name: entry.status for entry in report_entries}


def test_first_run_writes_each_secret_once_with_all_its_keys() -> None:
    store = FakeKv()

    report = bootstrap(store, MANIFEST, _all_values(), env="local", dry_run=False)

    assert report.ok
    assert set(_statuses(report.entries).values()) == {Status.WRITTEN}
    assert len(store.writes) == len(MANIFEST.by_secret()) == 11
    assert store.current("platform", "local/manual/oauth/google") == {
        "clientId": "v-google_client_id",
        "clientSecret": "v-google_client_secret",
    }
    assert store.current("platform", "local/manual/core") == {"jwtSecret": "v-core_jwt_secret"}


def test_second_run_reports_unchanged_and_writes_nothing() -> None:
    store = FakeKv()
    bootstrap(store, MANIFEST, _all_values(), env="local", dry_run=False)
    store.writes.clear()

    report = bootstrap(store, MANIFEST, _all_values(), env="local", dry_run=False)

    assert set(_statuses(report.entries).values()) == {Status.UNCHANGED}
    assert store.writes == []


def test_changing_one_key_rewrites_only_its_secret_and_keeps_the_other_keys() -> None:
    store = FakeKv()
    bootstrap(store, MANIFEST, _all_values(), env="local", dry_run=False)
    store.writes.clear()
    values = {**_all_values(), "GOOGLE_CLIENT_SECRET": SourcedValue("rotated", "environment")}

    report = bootstrap(store, MANIFEST, values, env="local", dry_run=False)

    statuses = _statuses(report.entries)
    assert statuses["google-client-secret"] == Status.WRITTEN
    assert statuses["google-client-id"] == Status.UNCHANGED
    assert store.writes == [("platform", "local/manual/oauth/google")]
    assert store.current("platform", "local/manual/oauth/google")["clientId"] == "v-google_client_id"


def test_dry_run_reports_would_write_and_writes_nothing() -> None:
    store = FakeKv()

    report = bootstrap(store, MANIFEST, _all_values(), env="local", dry_run=True)

    assert set(_statuses(report.entries).values()) == {Status.WOULD_WRITE}
    assert report.dry_run
    assert store.versions == {}


def test_absent_values_are_missing_when_vault_lacks_them_and_kept_when_it_has_them() -> None:
    store = FakeKv()
    store.seed("platform", "local/manual/oauth/steam", {"apiKey": "already"})
    values = _values(GOOGLE_CLIENT_ID="id")

    report = bootstrap(store, MANIFEST, values, env="local", dry_run=False)

    statuses = _statuses(report.entries)
    assert statuses["google-client-id"] == Status.WRITTEN
    assert statuses["google-client-secret"] == Status.MISSING
    assert statuses["steam-api-key"] == Status.KEPT
    assert not report.ok
    assert "google-client-secret" in {entry.ref.name for entry in report.failed}
    assert store.current("platform", "local/manual/oauth/steam") == {"apiKey": "already"}


def test_keys_outside_the_manifest_survive_a_write() -> None:
    store = FakeKv()
    store.seed("platform", "local/manual/oauth/google", {"clientId": "old", "note": "kept by hand"})

    bootstrap(store, MANIFEST, _values(GOOGLE_CLIENT_ID="new"), env="local", dry_run=False)

    assert store.current("platform", "local/manual/oauth/google") == {
        "clientId": "new",
        "note": "kept by hand",
    }


class _RacingKv(FakeKv):
    """Someone else writes the secret between our read and our write."""

    def read(self, mount: str, path: str) -> StoredSecret:
        stored = super().read(mount, path)
        self.seed(mount, path, {"clientId": "theirs"})
        return stored


def test_concurrent_change_is_a_conflict_and_is_not_clobbered() -> None:
    store = _RacingKv()
    manifest = SecretManifest([MANIFEST["google-client-id"]])

    report = bootstrap(store, manifest, _values(GOOGLE_CLIENT_ID="ours"), env="local", dry_run=False)

    assert _statuses(report.entries) == {"google-client-id": Status.CONFLICT}
    assert not report.ok
    assert store.current("platform", "local/manual/oauth/google") == {"clientId": "theirs"}


def test_check_reports_present_and_missing_without_sources() -> None:
    store = FakeKv()
    store.seed("platform", "local/manual/oauth/google", {"clientId": "x", "clientSecret": ""})

    report = check(store, MANIFEST, env="local")

    statuses = _statuses(report.entries)
    assert statuses["google-client-id"] == Status.PRESENT
    assert statuses["google-client-secret"] == Status.MISSING
    assert report.count(Status.PRESENT) == 1
    assert not report.ok


def test_fake_store_rejects_stale_cas() -> None:
    store = FakeKv()
    store.seed("platform", "p", {"k": "v"})

    with pytest.raises(CasConflict):
        store.write("platform", "p", {"k": "w"}, cas=0)


def test_manifest_lookup_by_stable_name_and_helpful_error() -> None:
    ref = external_secrets("prod")["google-client-secret"]

    assert (ref.mount.path, ref.path, ref.key, ref.env_var) == (
        "platform",
        "prod/manual/oauth/google",
        "clientSecret",
        "GOOGLE_CLIENT_SECRET",
    )
    assert ref.address == "platform/prod/manual/oauth/google#clientSecret"
    with pytest.raises(KeyError, match="google-client-secret"):
        external_secrets("prod")["google-secret"]


def test_every_external_secret_is_in_its_environment_and_under_manual_unless_a_login_path() -> None:
    """An external server's passwords sit where layer2 keeps a managed cluster's, so stacks read one path
    in every mode; everything else an operator provides is under ``manual/``."""
    for ref in external_secrets("lan").values():
        where = "lan/" if ref.name.startswith("postgres-") else "lan/manual/"
        assert ref.path.startswith(where), ref.name


def _ref(**overrides: str) -> SecretRef:
    fields: Mapping[str, str] = {
        "name": "a",
        "path": "local/manual/a",
        "key": "k",
        "description": "d",
        "env_var": "A",
        **overrides,
    }
    return SecretRef(mount=PLATFORM, **fields)


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ({"name": "a", "path": "local/manual/b", "env_var": "B"}, "used twice"),
        ({"name": "b", "env_var": "B"}, "is also 'a'"),
        ({"name": "b", "path": "local/manual/b"}, "A is also read for 'a'"),
    ],
)
def test_fails_when_manifest_repeats_a_name_a_key_or_a_variable(second: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SecretManifest([_ref(), _ref(**second)])


@pytest.mark.parametrize(
    "bad", [{"name": "Bad_Name"}, {"env_var": "lower"}, {"key": "a-b"}, {"path": "local/*"}, {"path": "/x"}]
)
def test_fails_when_a_ref_field_is_malformed(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="secret ref"):
        _ref(**bad)
