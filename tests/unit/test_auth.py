from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.auth import (
    TOKEN_AUDIENCE,
    HS256Verifier,
    JwksVerifier,
    hash_token,
    mint_token,
    principal_from_headers,
    reporter_token,
)
from chalicelib.domain.access import ANONYMOUS_PUBLIC, tokens_match
from chalicelib.errors import Unauthenticated
from tests.conftest import T0

SECRET, ISSUER = "s" * 32, "lapor-test"
VERIFIER = HS256Verifier(SECRET, ISSUER)


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_a_minted_institution_admin_token_yields_its_role_and_institution():
    token = mint_token(SECRET, ISSUER, role="admin_instansi", subject="u-1", now=T0, institution_id="pemkot-samarinda",
                       lifetime=timedelta(days=3650))
    principal = principal_from_headers(_bearer(token), VERIFIER)
    assert (principal.role, principal.user_id, principal.institution_id) == ("admin_instansi", "u-1", "pemkot-samarinda")
    assert principal.is_staff


def test_no_credentials_means_the_anonymous_public():
    assert principal_from_headers({}, VERIFIER) == ANONYMOUS_PUBLIC


def test_a_report_token_is_kept_only_as_its_hash():
    principal = principal_from_headers({"x-report-token": "rpt_abc"}, VERIFIER)
    assert principal.role == "reporter" and principal.report_token_hash == hash_token("rpt_abc")
    assert "rpt_abc" not in repr(principal)


@pytest.mark.parametrize("claims_change", [
    {"role": "superuser"},
    {"role": "admin_instansi"},  # no institution claim
    {"role": "admin_penghubung", "institution": "pemkot-samarinda"},  # no unit claim
])
def test_tokens_with_claims_that_do_not_fit_the_role_are_refused(claims_change):
    claims = {"sub": "x", "iss": ISSUER, "aud": TOKEN_AUDIENCE, "exp": int((T0 + timedelta(days=3650)).timestamp()),
              "role": "auditor"} | claims_change
    with pytest.raises(Unauthenticated):
        principal_from_headers(_bearer(jwt.encode(claims, SECRET, algorithm="HS256")), VERIFIER)


@pytest.mark.parametrize("token", [
    jwt.encode({"sub": "x", "role": "auditor", "iss": ISSUER, "aud": TOKEN_AUDIENCE, "exp": 1}, SECRET),  # expired
    jwt.encode({"sub": "x", "role": "auditor", "iss": "other", "aud": TOKEN_AUDIENCE, "exp": 4102444800}, SECRET),
    jwt.encode({"sub": "x", "role": "auditor", "iss": ISSUER, "aud": TOKEN_AUDIENCE, "exp": 4102444800}, "wrong" * 8),
    jwt.encode({"role": "auditor", "iss": ISSUER, "aud": TOKEN_AUDIENCE, "exp": 4102444800}, SECRET),  # no subject
    "not-a-jwt",
])
def test_expired_forged_foreign_or_garbled_tokens_are_unauthenticated(token):
    with pytest.raises(Unauthenticated):
        principal_from_headers(_bearer(token), VERIFIER)


def test_a_non_bearer_authorization_header_is_refused():
    with pytest.raises(Unauthenticated):
        principal_from_headers({"authorization": "Basic dXNlcjpwYXNz"}, VERIFIER)


def test_reporter_tokens_are_reproducible_from_secret_report_and_salt_and_differ_otherwise():
    first = reporter_token(SECRET, "LAP-AAAAAAAAAA", "salt-1")
    assert first == reporter_token(SECRET, "LAP-AAAAAAAAAA", "salt-1")
    assert first != reporter_token(SECRET, "LAP-AAAAAAAAAA", "salt-2")
    assert first != reporter_token(SECRET, "LAP-BBBBBBBBBB", "salt-1")
    assert tokens_match(hash_token(first), hash_token(first)) and not tokens_match(None, hash_token(first))


class _StaticJwks:
    """Stands in for PyJWKClient's network fetch: the verifier's swap point for Cognito/JWKS."""

    def __init__(self, public_key) -> None:
        self._key = jwt.PyJWK.from_dict(jwt.algorithms.RSAAlgorithm.to_jwk(public_key, as_dict=True) | {"alg": "RS256"})

    def get_signing_key_from_jwt(self, token: str):
        return self._key


def test_the_jwks_verifier_accepts_rs256_tokens_from_its_issuer_and_refuses_others():
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    verifier = JwksVerifier("https://cognito.example/jwks.json", "https://cognito.example",
                            jwk_client=_StaticJwks(private_key.public_key()))
    claims = {"sub": "ombudsman-7", "role": "ombudsman", "iss": "https://cognito.example", "aud": TOKEN_AUDIENCE,
              "exp": 4102444800}
    principal = principal_from_headers(_bearer(jwt.encode(claims, private_key, algorithm="RS256")), verifier)
    assert (principal.role, principal.user_id) == ("ombudsman", "ombudsman-7")
    with pytest.raises(Unauthenticated):  # an HS256 token signed with some shared secret is not accepted
        principal_from_headers(_bearer(jwt.encode(claims, "x" * 32, algorithm="HS256")), verifier)
