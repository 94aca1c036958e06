from __future__ import annotations

import json

import pytest

from chalicelib.auth import HS256Verifier
from infra.cli import main
from infra.local.state import LOCAL_ISSUER, LocalState
from chalicelib.settings import Settings, SettingsError


def test_settings_come_from_the_environment_once_with_table_names_from_the_prefix():
    settings = Settings.from_env({"LAPOR_STAGE": "prod", "LAPOR_TABLE_PREFIX": "lapor-prod", "AWS_REGION": "ap-southeast-3",
                                  "LAPOR_JWKS_URL": "https://idp/jwks.json", "LAPOR_TOKEN_SECRET": "t" * 32})
    assert settings.stage == "prod" and settings.table_names["events"] == "lapor-prod-events"
    assert settings.dynamodb_endpoint is None and settings.jwks_url == "https://idp/jwks.json"


@pytest.mark.parametrize("environ", [
    {"LAPOR_TOKEN_SECRET": "t" * 32},  # no way to verify staff tokens
    {"LAPOR_JWT_SECRET": "j" * 32, "LAPOR_TOKEN_SECRET": "short"},
])
def test_settings_refuse_to_start_without_secrets(environ):
    with pytest.raises(SettingsError):
        Settings.from_env(environ)


def test_lapor_token_mints_a_token_the_local_server_accepts(tmp_path, capsys):
    assert main(["--home", str(tmp_path), "token", "--role", "admin_penghubung",
                 "--institution", "pemkot-samarinda", "--unit", "dinas-pupr"]) == 0
    token = capsys.readouterr().out.strip()
    secret = LocalState.at(tmp_path).secrets()["jwt_secret"]
    claims = HS256Verifier(secret, LOCAL_ISSUER).verify(token)
    assert (claims["role"], claims["institution"], claims["unit"]) == (
        "admin_penghubung", "pemkot-samarinda", "dinas-pupr")
    assert json.loads((tmp_path / "secrets.json").read_text())["jwt_secret"] == secret


@pytest.mark.parametrize("args, message", [
    (["--role", "admin_instansi", "--institution", "pemkot-atlantis"], "unknown institution"),
    (["--role", "admin_penghubung", "--institution", "pemkot-samarinda", "--unit", "dinas-sihir"], "has no unit"),
    (["--role", "admin_instansi"], "needs an institution"),
    (["--role", "supervisor", "--region", "64.72"], "province code"),
])
def test_lapor_token_explains_what_is_wrong(tmp_path, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["--home", str(tmp_path), "token", *args])
    assert message in str(exit_info.value)


def test_only_an_explicit_local_stage_turns_on_the_dev_pages():
    settings = Settings.from_env({"LAPOR_JWKS_URL": "https://idp/jwks.json", "LAPOR_TOKEN_SECRET": "t" * 32})
    assert settings.stage == "dev"  # an unset stage fails closed


def test_lapor_token_refuses_a_lifetime_that_is_already_over(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--home", str(tmp_path), "token", "--role", "auditor", "--hours", "-5"])
