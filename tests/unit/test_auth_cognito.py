"""Staff tokens from Cognito (and any OIDC provider): RS256 against a JWKS, issuer, audience / client id,
token_use, and the `cognito` claim mapping (role from the one LAPOR group, scope from custom attributes).

The keys are generated here and served by a real HTTP server on 127.0.0.1, so PyJWKClient fetches them as
it fetches Cognito's. The claim sets are Cognito's own (ID token: `cognito:username`, `aud`, `token_use: id`,
`auth_time`, `event_id`, `origin_jti`, `jti`; access token: `client_id` instead of `aud`, `scope`,
`username`, `version`). Tokens are valid around the real clock: PyJWT checks `exp` against it.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.auth import (
    JwksVerifier,
    cognito_claims,
    mint_token,
    principal_from_headers,
    principal_from_token,
    verifier_from_settings,
)
from chalicelib.errors import Unauthenticated
from chalicelib.settings import Settings, SettingsError
from tests.support.settings import TOKEN_SECRET, test_settings

POOL = "ap-southeast-3_LaPoR1234"
ISSUER = f"https://cognito-idp.ap-southeast-3.amazonaws.com/{POOL}"
CLIENT_ID = "5kq0s7lapor0console0client"
SUB = "7a1c9e52-3b8d-4f06-9d2e-1f0b6c8a4e71"
ROOT = Path(__file__).resolve().parents[2]


class _Jwks:
    """A JWKS endpoint on 127.0.0.1 serving whatever keys the test gives it, counting the fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 — http.server's name
                jwks.fetches += 1
                body = json.dumps({"keys": jwks.keys}).encode()
                self.send_response(200 if self.path == f"/{POOL}/.well-known/jwks.json" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{POOL}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, private_key: Any, kid: str) -> None:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
        self.keys.append(public | {"kid": kid, "alg": "RS256", "use": "sig"})


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks(key):
    server = _Jwks()
    server.publish(key, "kid-1")
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def verifier(jwks) -> JwksVerifier:
    return JwksVerifier(jwks.url, ISSUER, CLIENT_ID, mapping="cognito")


def id_token_claims(*groups: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"sub": SUB, "cognito:groups": list(groups), "email_verified": True, "iss": ISSUER,
              "cognito:username": "rina.samarinda", "origin_jti": str(uuid.uuid4()), "aud": CLIENT_ID,
              "event_id": str(uuid.uuid4()), "token_use": "id", "auth_time": now - 5, "exp": now + 3600,
              "iat": now, "jti": str(uuid.uuid4()), "email": "rina@samarinda.go.id", "name": "Rina Wulandari"}
    return _changed(claims, changes)


def access_token_claims(*groups: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"sub": SUB, "cognito:groups": list(groups), "iss": ISSUER, "version": 2, "client_id": CLIENT_ID,
              "origin_jti": str(uuid.uuid4()), "event_id": str(uuid.uuid4()), "token_use": "access",
              "scope": "openid email", "auth_time": now - 5, "exp": now + 3600, "iat": now,
              "jti": str(uuid.uuid4()), "username": "rina.samarinda"}
    return _changed(claims, changes)


def _changed(claims: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Keyword `custom_x` means the claim `custom:x`; None removes a claim."""
    for name, value in changes.items():
        name = name.replace("custom_", "custom:", 1) if name.startswith("custom_") else name
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def signed(claims: dict[str, Any], key: Any, kid: str = "kid-1") -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def refused(token: str, verifier: Any) -> str:
    with pytest.raises(Unauthenticated) as refusal:
        principal_from_token(token, verifier)
    assert refusal.value.pesan.startswith("token tidak sah") or refusal.value.code == "unauthenticated"
    return refusal.value.message


# ------------------------------------------------------------------------------------------------ accepted

def test_an_institution_admins_id_token_gives_role_from_the_group_and_institution_from_the_attribute(key, verifier):
    token = signed(id_token_claims("admin_instansi", custom_institution_id="pemkot-samarinda"), key)
    principal = principal_from_token(token, verifier)
    assert (principal.role, principal.user_id, principal.institution_id, principal.unit_id, principal.region_code) \
        == ("admin_instansi", SUB, "pemkot-samarinda", None, None)


def test_a_liaisons_and_a_provincial_supervisors_id_tokens_carry_their_scope(key, verifier):
    liaison = principal_from_token(signed(id_token_claims(
        "admin_penghubung", custom_institution_id="pemkot-samarinda", custom_unit_id="dinas-pupr"), key), verifier)
    assert (liaison.role, liaison.institution_id, liaison.unit_id) == ("admin_penghubung", "pemkot-samarinda",
                                                                       "dinas-pupr")
    supervisor = principal_from_token(signed(id_token_claims("supervisor", custom_province_code="64"), key), verifier)
    assert (supervisor.role, supervisor.region_code) == ("supervisor", "64")
    national = principal_from_token(signed(id_token_claims("supervisor"), key), verifier)
    assert national.region_code is None  # no province attribute: a national supervisor, as with flat tokens


def test_groups_that_are_not_lapor_roles_are_ignored_beside_the_one_that_is(key, verifier):
    token = signed(id_token_claims("pegawai", "ombudsman", "ap-southeast-3_LaPoR1234_Google"), key)
    assert principal_from_token(token, verifier).role == "ombudsman"


def test_an_access_token_is_accepted_for_a_role_without_scope_checked_by_its_client_id(key, verifier):
    principal = principal_from_token(signed(access_token_claims("admin_nasional"), key), verifier)
    assert (principal.role, principal.user_id) == ("admin_nasional", SUB)  # `sub`, never the username
    auditor = principal_from_headers({"authorization": f"Bearer {signed(access_token_claims('auditor'), key)}"},
                                     verifier)
    assert auditor.role == "auditor" and auditor.is_staff


def test_the_key_set_is_fetched_once_and_forged_key_ids_do_not_make_it_fetch_again_and_again(key, jwks, verifier):
    for _ in range(3):
        principal_from_token(signed(access_token_claims("auditor"), key), verifier)
    assert jwks.fetches == 1
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for n in range(5):  # unknown key ids: PyJWT refetches at most once per 30 s cooldown (a rotation's new key)
        refused(signed(access_token_claims("auditor"), stranger, f"forged-{n}"), verifier)
    assert jwks.fetches == 1


# ------------------------------------------------------------------------------------------------ refused

def test_an_expired_token_is_refused(key, verifier):
    now = int(time.time())
    message = refused(signed(id_token_claims("ombudsman", iat=now - 7200, auth_time=now - 7200, exp=now - 3600),
                             key), verifier)
    assert "expired" in message


def test_a_token_from_another_issuer_is_refused(key, verifier):
    other = "https://cognito-idp.ap-southeast-3.amazonaws.com/ap-southeast-3_Other9999"
    assert "issuer" in refused(signed(id_token_claims("ombudsman", iss=other), key), verifier).lower()
    assert "issuer" in refused(signed(access_token_claims("ombudsman", iss=other), key), verifier).lower()


def test_a_token_for_another_app_client_is_refused(key, verifier):
    message = refused(signed(id_token_claims("ombudsman", aud="another-client"), key), verifier)
    assert "another-client" in message and CLIENT_ID in message
    message = refused(signed(access_token_claims("ombudsman", client_id="another-client"), key), verifier)
    assert "access token is for app client 'another-client'" in message


def test_a_token_whose_token_use_is_neither_id_nor_access_is_refused(key, verifier):
    assert "token_use" in refused(signed(id_token_claims("ombudsman", token_use="refresh"), key), verifier)
    assert "token_use" in refused(signed(id_token_claims("ombudsman", token_use=None), key), verifier)
    # An ID token's `aud` does not make an access token of it, nor the reverse.
    assert "client" in refused(signed(id_token_claims("ombudsman", token_use="access"), key), verifier)
    assert "client" in refused(signed(access_token_claims("ombudsman", token_use="id"), key), verifier)


@pytest.mark.parametrize("groups, says", [
    ((), "no LAPOR role group"),
    (("superuser",), "no LAPOR role group"),
    (("system",), "no LAPOR role group"),  # the sweep's role is no staff member's
    (("reporter", "public"), "no LAPOR role group"),
    (("admin_nasional", "auditor"), "several LAPOR role groups (admin_nasional, auditor)"),
])
def test_a_user_in_no_or_several_lapor_role_groups_is_refused(key, verifier, groups, says):
    message = refused(signed(id_token_claims(*groups), key), verifier)
    assert says in message and "exactly one of" in message


def test_cognito_groups_that_are_not_a_list_are_refused(key, verifier):
    assert "list" in refused(signed(id_token_claims(**{"cognito:groups": "ombudsman"}), key), verifier)


@pytest.mark.parametrize("groups, attributes, missing", [
    (("admin_instansi",), {}, "custom:institution_id"),
    (("admin_penghubung",), {"custom_institution_id": "pemkot-samarinda"}, "custom:unit_id"),
    (("admin_penghubung",), {"custom_unit_id": "dinas-pupr"}, "custom:institution_id"),
    (("admin_instansi",), {"custom_institution_id": ""}, "custom:institution_id"),
])
def test_a_scoped_role_without_its_attribute_is_refused_naming_it(key, verifier, groups, attributes, missing):
    assert missing in refused(signed(id_token_claims(*groups, **attributes), key), verifier)


@pytest.mark.parametrize("role", ["admin_instansi", "admin_penghubung", "supervisor"])
def test_an_access_token_cannot_prove_a_scoped_role(key, verifier, role):
    # Even with the attribute (a pre-token-generation trigger could add one), the rule is the ID token.
    token = signed(access_token_claims(role, custom_institution_id="pemkot-samarinda", custom_unit_id="dinas-pupr"),
                   key)
    assert "send the ID token" in refused(token, verifier)


def test_a_token_signed_by_a_key_not_in_the_set_or_by_a_shared_secret_is_refused(key, jwks, verifier):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert "Signature" in refused(signed(id_token_claims("ombudsman"), stranger), verifier)  # kid-1, other key
    refused(signed(id_token_claims("ombudsman"), stranger, "kid-unknown"), verifier)
    hs256 = jwt.encode(id_token_claims("ombudsman"), "x" * 32, algorithm="HS256", headers={"kid": "kid-1"})
    refused(hs256, verifier)
    unsigned = jwt.encode(id_token_claims("ombudsman"), None, algorithm="none", headers={"kid": "kid-1"})
    refused(unsigned, verifier)


def test_an_identity_provider_that_cannot_be_reached_is_said_so(key):
    verifier = JwksVerifier("http://127.0.0.1:9/nothing/.well-known/jwks.json", ISSUER, CLIENT_ID, mapping="cognito")
    assert "could not be fetched" in refused(signed(id_token_claims("ombudsman"), key), verifier)


def test_with_the_flat_mapping_a_cognito_token_is_refused_and_a_flat_rs256_token_accepted(key, jwks):
    flat = JwksVerifier(jwks.url, ISSUER, CLIENT_ID)  # mapping "flat": what LAPOR_JWKS_URL alone used to mean
    assert "role" in refused(signed(id_token_claims("ombudsman"), key), flat)  # an ID token has no `role`
    assert "aud" in refused(signed(access_token_claims("ombudsman"), key), flat)  # nor an access token `aud`
    now = int(time.time())
    token = signed({"sub": "u-9", "role": "admin_instansi", "institution": "pemkot-balikpapan", "iss": ISSUER,
                    "aud": CLIENT_ID, "iat": now, "exp": now + 600}, key)
    assert principal_from_token(token, flat).institution_id == "pemkot-balikpapan"


def test_cognito_claims_is_the_mapping_alone():
    flat = cognito_claims(id_token_claims("admin_penghubung", custom_institution_id="pemkot-samarinda",
                                          custom_unit_id="dinas-pupr", custom_province_code="64"), CLIENT_ID)
    assert flat == {"sub": SUB, "role": "admin_penghubung", "institution": "pemkot-samarinda",
                    "unit": "dinas-pupr", "region": "64"}  # and nothing else: no name, no e-mail


# ------------------------------------------------------------------------------------------------ settings

def test_settings_choose_the_verifier_its_audience_and_mapping(key, jwks):
    settings = Settings.from_env({"LAPOR_JWKS_URL": jwks.url, "LAPOR_JWT_ISSUER": ISSUER,
                                  "LAPOR_JWT_AUDIENCE": CLIENT_ID, "LAPOR_CLAIM_MAPPING": "cognito",
                                  "LAPOR_TOKEN_SECRET": TOKEN_SECRET})
    verifier = verifier_from_settings(settings)
    assert isinstance(verifier, JwksVerifier)
    assert principal_from_token(signed(id_token_claims("auditor"), key), verifier).role == "auditor"
    defaults = Settings.from_env({"LAPOR_JWT_SECRET": "s" * 32, "LAPOR_TOKEN_SECRET": TOKEN_SECRET})
    assert (defaults.jwt_audience, defaults.claim_mapping, defaults.tracing) == ("lapor-api", "flat", False)
    local = verifier_from_settings(defaults)
    minted = mint_token("s" * 32, "lapor-local", role="auditor", subject="a-1", now=_now())
    assert principal_from_token(minted, local).role == "auditor"


@pytest.mark.parametrize("environ, says", [
    ({"LAPOR_CLAIM_MAPPING": "okta"}, "LAPOR_CLAIM_MAPPING"),
    ({"LAPOR_TRACING": "yes"}, "LAPOR_TRACING"),
])
def test_unknown_mapping_or_tracing_values_are_refused_at_start(environ, says):
    with pytest.raises(SettingsError, match=says):
        Settings.from_env({"LAPOR_JWT_SECRET": "s" * 32, "LAPOR_TOKEN_SECRET": TOKEN_SECRET} | environ)


def test_an_hs256_audience_other_than_the_default_is_checked(key):
    verifier = verifier_from_settings(test_settings(jwt_audience="lapor-staging"))
    ok = mint_token("test-jwt-secret-0123456789abcdef", "lapor-test", role="auditor", subject="a", now=_now(),
                    audience="lapor-staging")
    assert principal_from_token(ok, verifier).role == "auditor"
    wrong = mint_token("test-jwt-secret-0123456789abcdef", "lapor-test", role="auditor", subject="a", now=_now())
    assert "audience" in refused(wrong, verifier).lower()


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


# ------------------------------------------------------------------------------------------------ the API

def test_the_api_accepts_a_cognito_id_token_and_refuses_an_access_token_for_a_scoped_role(aws, clock, key, jwks):
    from chalice.test import Client

    import app as app_module
    from chalicelib.bootstrap import build_services, use_services

    use_services(build_services(test_settings(jwt_secret=None, jwks_url=jwks.url, jwt_issuer=ISSUER,
                                              jwt_audience=CLIENT_ID, claim_mapping="cognito"), clock=clock))
    try:
        with Client(app_module.app) as client:
            id_token = signed(id_token_claims("admin_instansi", custom_institution_id="pemkot-samarinda"), key)
            queue = client.http.get("/queue", headers={"Authorization": f"Bearer {id_token}"})
            assert queue.status_code == 200, queue.body
            access = signed(access_token_claims("admin_instansi"), key)
            refusal = client.http.get("/queue", headers={"Authorization": f"Bearer {access}"})
            assert refusal.status_code == 401
            body = json.loads(refusal.body)
            assert body["code"] == "unauthenticated" and "send the ID token" in body["message"]
    finally:
        use_services(None)


# ------------------------------------------------------------------------------------------------ cold start

def test_importing_the_app_with_local_hs256_settings_does_not_load_cryptography():
    """PyJWT imports `cryptography` with its first import; the app imports PyJWT only to mint or verify."""
    probe = ("import sys, app\n"
             "from chalicelib.bootstrap import build_services\n"
             "from chalicelib.settings import Settings\n"
             "build_services(Settings(jwt_secret='s' * 32, token_secret='t' * 32))\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cryptography', 'jwt')))")
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "ap-southeast-3", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
