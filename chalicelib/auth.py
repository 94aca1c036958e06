"""Who is asking: staff JWT bearer tokens, per-report reporter tokens, and the anonymous public.

Staff tokens say who a staff member is and where they act (DOMAIN §5). Two ways of saying it, chosen by
LAPOR_CLAIM_MAPPING:
- `flat` (default): claims `role`, `institution`, `unit`, `region` — what `lapor token` mints (HS256 with a
  local secret) and what any OIDC provider can be configured to put in its tokens;
- `cognito`: a Cognito user pool's tokens — the role is the user's one group (`cognito:groups`) named like a
  LAPOR role, the scope comes from the custom attributes `custom:institution_id`, `custom:unit_id` and
  `custom:province_code`.
Locally tokens are HS256; in AWS the signature is checked against the keys at LAPOR_JWKS_URL (RS256).

PyJWT is imported only when a token is minted or verified: `import jwt` loads `cryptography` (its RSA and EC
algorithms), which a cold start answering the public does not need.

A reporter holds a secret token returned once at submission; only its SHA-256 is stored.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.access import ANONYMOUS_PUBLIC, Principal
from chalicelib.domain.vocabulary import STAFF_ROLES, Role
from chalicelib.errors import Unauthenticated

if TYPE_CHECKING:
    from chalicelib.settings import Settings

TOKEN_AUDIENCE = "lapor-api"
FLAT, COGNITO = "flat", "cognito"
LEEWAY_SECONDS = 30  # the IdP's clock and ours may differ a little: a fresh token must not be "not yet valid"
JWKS_TIMEOUT_SECONDS = 5  # fetching the signing keys must not use up the API's 29 s
# Roles whose scope a token must state. An access token from Cognito carries no custom attributes, so it can
# prove only the roles outside this list (a supervisor's scope is optional — without it they are national — so
# a supervisor's access token could not tell a provincial supervisor from a national one: refused too).
SCOPED_ROLES = (Role.ADMIN_INSTANSI, Role.ADMIN_PENGHUBUNG, Role.SUPERVISOR)
COGNITO_SCOPE = (("custom:institution_id", "institution"), ("custom:unit_id", "unit"),
                 ("custom:province_code", "region"))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def reporter_token(secret: str, report_id: str, salt: str) -> str:
    """Derive the reporter's token so a retried submission can return the same one without storing it."""
    mac = hmac.new(secret.encode("utf-8"), f"reporter:{report_id}:{salt}".encode("utf-8"), hashlib.sha256)
    return "rpt_" + mac.hexdigest()


class TokenVerifier(Protocol):
    def verify(self, token: str) -> dict[str, Any]:
        """LAPOR's flat claims (`sub`, `role`, `institution`, `unit`, `region`) of a valid token; else
        Unauthenticated."""
        ...


def _refused(problem: str, masalah: str | None = None) -> Unauthenticated:
    return Unauthenticated(f"invalid token: {problem}", f"token tidak sah: {masalah}" if masalah else "token tidak sah")


class _Verifier:
    """What every staff-token verifier does once the signature key is known: PyJWT checks signature,
    expiry, issuer (and, for flat tokens, `aud`); then the claim mapping makes LAPOR's flat claims."""

    algorithm = ""

    def __init__(self, issuer: str, audience: str, mapping: str) -> None:
        if mapping not in (FLAT, COGNITO):
            raise ValueError(f"unknown claim mapping {mapping!r}")
        self._issuer, self._audience, self._mapping = issuer, audience, mapping

    def _key(self, token: str) -> Any:
        raise NotImplementedError

    def verify(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            key = self._key(token)
            if self._mapping == FLAT:
                claims = jwt.decode(token, key, algorithms=[self.algorithm], audience=self._audience,
                                    issuer=self._issuer, leeway=LEEWAY_SECONDS,
                                    options={"require": ["exp", "iss", "aud", "sub", "role"]})
            else:  # Cognito's access tokens have no `aud`: the audience is checked by token_use below
                claims = jwt.decode(token, key, algorithms=[self.algorithm], issuer=self._issuer,
                                    leeway=LEEWAY_SECONDS, options={"verify_aud": False,
                                                                    "require": ["exp", "iss", "sub", "token_use"]})
        except jwt.PyJWKClientConnectionError:
            raise _refused("the identity provider's signing keys could not be fetched; try again",
                           "kunci penanda tangan penyedia identitas tidak dapat diambil; coba lagi") from None
        except jwt.PyJWTError as exc:
            raise _refused(str(exc)) from None
        flat = claims if self._mapping == FLAT else cognito_claims(claims, self._audience)
        check_claims(flat)
        return flat


class HS256Verifier(_Verifier):
    """Local and test verifier: a shared secret."""

    algorithm = "HS256"

    def __init__(self, secret: str, issuer: str, audience: str = TOKEN_AUDIENCE, mapping: str = FLAT) -> None:
        super().__init__(issuer, audience, mapping)
        self._secret = secret

    def _key(self, token: str) -> Any:
        return self._secret


class JwksVerifier(_Verifier):
    """Production verifier: RS256 tokens signed by a key published at a JWKS URL (Cognito:
    https://cognito-idp.<region>.amazonaws.com/<pool id>/.well-known/jwks.json). The key set is fetched on the
    first token and kept for five minutes (and fetched again at once for a key id it does not know: a
    rotation); `jwk_client` replaces the fetching (anything with `get_signing_key_from_jwt`)."""

    algorithm = "RS256"

    def __init__(self, jwks_url: str, issuer: str, audience: str = TOKEN_AUDIENCE, jwk_client: Any = None,
                 mapping: str = FLAT) -> None:
        super().__init__(issuer, audience, mapping)
        self._jwks_url, self._client = jwks_url, jwk_client

    def _key(self, token: str) -> Any:
        if self._client is None:  # on the first token, not at start-up: no network before it is needed
            import jwt

            self._client = jwt.PyJWKClient(self._jwks_url, cache_keys=True, timeout=JWKS_TIMEOUT_SECONDS)
        return self._client.get_signing_key_from_jwt(token).key


def verifier_from_settings(settings: Settings) -> TokenVerifier:
    """RS256 against LAPOR_JWKS_URL when it is set, else HS256 with LAPOR_JWT_SECRET; the issuer, audience
    and claim mapping from their settings."""
    if settings.jwks_url:
        return JwksVerifier(settings.jwks_url, settings.jwt_issuer, settings.jwt_audience,
                            mapping=settings.claim_mapping)
    return HS256Verifier(settings.jwt_secret or "", settings.jwt_issuer, settings.jwt_audience,
                         mapping=settings.claim_mapping)


def cognito_claims(claims: dict[str, Any], audience: str) -> dict[str, Any]:
    """A verified Cognito token's claims as LAPOR's flat ones. The caller has checked signature, expiry and
    issuer; here: which token it is (`token_use`), for which app client, and the role and scope it proves."""
    token_use = claims.get("token_use")
    if token_use == "id":
        audiences = claims.get("aud")
        if audience not in (audiences if isinstance(audiences, list) else [audiences]):
            raise _refused(f"the ID token is for app client {audiences!r}, not {audience!r}",
                           "token ID untuk app client lain")
    elif token_use == "access":
        if claims.get("client_id") != audience:
            raise _refused(f"the access token is for app client {claims.get('client_id')!r}, not {audience!r}",
                           "token akses untuk app client lain")
    else:
        raise _refused(f"token_use must be 'id' or 'access', not {token_use!r}",
                       f"token_use harus 'id' atau 'access', bukan {token_use!r}")
    groups = claims.get("cognito:groups") or []
    if not isinstance(groups, list):
        raise _refused("cognito:groups must be a list", "cognito:groups harus berupa daftar")
    roles = sorted({group for group in groups if group in STAFF_ROLES})
    if len(roles) != 1:
        found = f"several LAPOR role groups ({', '.join(roles)})" if roles else "no LAPOR role group"
        raise _refused(f"the user is in {found}; put them in exactly one of {', '.join(STAFF_ROLES)}",
                       f"pengguna harus berada di tepat satu grup peran LAPOR ({', '.join(STAFF_ROLES)})")
    role = roles[0]
    if token_use == "access" and role in SCOPED_ROLES:
        raise _refused(f"an access token carries no custom attributes, so it cannot say a {role}'s scope; "
                       "send the ID token", f"token akses tidak memuat atribut lingkup {role}; kirim token ID")
    flat: dict[str, Any] = {"sub": claims["sub"], "role": role}
    for attribute, name in COGNITO_SCOPE:
        value = claims.get(attribute)
        if value:
            flat[name] = str(value)
    for attribute, name, roles_needing in (("custom:institution_id", "institution",
                                            (Role.ADMIN_INSTANSI, Role.ADMIN_PENGHUBUNG)),
                                           ("custom:unit_id", "unit", (Role.ADMIN_PENGHUBUNG,))):
        if role in roles_needing and name not in flat:
            raise _refused(f"a {role} needs the user attribute {attribute}, which is empty",
                           f"{role} memerlukan atribut pengguna {attribute}, yang kosong")
    return flat


def mint_token(secret: str, issuer: str, *, role: str, subject: str, now: datetime,
               institution_id: str | None = None, unit_id: str | None = None,
               region_code: str | None = None, lifetime: timedelta = timedelta(hours=12),
               audience: str = TOKEN_AUDIENCE) -> str:
    import jwt

    claims: dict[str, Any] = {"sub": subject, "role": role, "iss": issuer, "aud": audience,
                              "iat": int(now.timestamp()), "exp": int((now + lifetime).timestamp())}
    for name, value in (("institution", institution_id), ("unit", unit_id), ("region", region_code)):
        if value:
            claims[name] = value
    check_claims(claims)
    return jwt.encode(claims, secret, algorithm="HS256")


def check_claims(claims: dict[str, Any]) -> None:
    role = claims.get("role")
    if role not in STAFF_ROLES:
        raise Unauthenticated(f"unknown role {role!r} in token", f"peran {role!r} tidak dikenal")
    if role in (Role.ADMIN_INSTANSI, Role.ADMIN_PENGHUBUNG) and not claims.get("institution"):
        raise Unauthenticated(f"{role} token needs an institution claim", f"token {role} perlu klaim institution")
    if role == Role.ADMIN_PENGHUBUNG and not claims.get("unit"):
        raise Unauthenticated("admin_penghubung token needs a unit claim", "token admin_penghubung perlu klaim unit")


def principal_from_token(token: str, verifier: TokenVerifier) -> Principal:
    """The staff member a token proves — the one entry point for a token string (stable: the API's bearer
    tokens come through here, and the staff console calls it on the identity provider's ID token at its
    OAuth callback).

    Checks the signature (HS256 secret or the JWKS keys), expiry, issuer, audience (Cognito: `aud` of an ID
    token, `client_id` of an access token), `token_use`, and that the role and its scope are there (claim
    mapping `flat` or `cognito`). Raises `Unauthenticated` (401) with the reason for any token that fails.
    """
    claims = verifier.verify(token)
    check_claims(claims)
    return Principal(role=claims["role"], user_id=str(claims["sub"]), institution_id=claims.get("institution"),
                     unit_id=claims.get("unit"), region_code=claims.get("region"))


def principal_from_headers(headers: dict[str, str], verifier: TokenVerifier) -> Principal:
    """Authorization: Bearer <staff JWT>, or X-Report-Token: <reporter token>, or nothing (the public)."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'", "Authorization harus 'Bearer <token>'")
        return principal_from_token(token.strip(), verifier)
    report_token = headers.get("x-report-token")
    if report_token:
        return Principal(role=Role.REPORTER, report_token_hash=hash_token(report_token.strip()))
    return ANONYMOUS_PUBLIC
