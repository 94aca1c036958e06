"""Staff sign-in: a Cognito user pool made by the stack, or an existing one named by parameters.

Merged into the stack by infra/template.py (staff_auth="cognito", the default).

* No self sign-up: staff accounts are created by administrators (AdminCreateUser). Each staff member is in
  exactly one group, named by their LAPOR role (chalicelib.domain.vocabulary.STAFF_ROLES), and carries the
  custom attributes `institution_id`, `unit_id` and `province_code`, so the ID token holds `cognito:groups`
  and `custom:institution_id` etc. (LAPOR_CLAIM_MAPPING=cognito reads them).
* The app client is public (no secret: the console runs the authorization-code flow with PKCE) and may
  only READ the custom attributes: were they writable by the client, a signed-in user could move themselves
  to another institution with their own access token. Only an administrator (AdminUpdateUserAttributes)
  changes them.
* Its callback and sign-out URLs are `<PublicApiUrl>/konsol/masuk/kembali` and
  `<PublicApiUrl>/konsol/keluar/selesai`. The API's own URL cannot be used when PublicApiUrl is empty (the
  client would depend on the API, the API on the function, the function's environment on the client: a
  cycle), so without PublicApiUrl the client has no hosted-UI flow; set it and deploy again (README).
* The user pool is retained and deletion-protected: staff accounts cannot be rebuilt from events.
* With ExistingUserPoolId (and then also ExistingUserPoolClientId and ExistingUserPoolDomain: a rule
  checks) nothing is created; the operator's pool must have the groups and attributes above.
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.vocabulary import STAFF_ROLES

USER_POOL = "StaffUserPool"
USER_POOL_CLIENT = "StaffUserPoolClient"
USER_POOL_DOMAIN = "StaffUserPoolDomain"
EXISTING_POOL_PARAMETER = "ExistingUserPoolId"
EXISTING_CLIENT_PARAMETER = "ExistingUserPoolClientId"
EXISTING_DOMAIN_PARAMETER = "ExistingUserPoolDomain"
DOMAIN_PREFIX_PARAMETER = "CognitoDomainPrefix"
CREATE_POOL = "CreateUserPool"
CREATE_POOL_WITH_URL = "CreateUserPoolWithPublicUrl"
CUSTOM_ATTRIBUTES = ("institution_id", "unit_id", "province_code")
CALLBACK_PATH = "/konsol/masuk/kembali"
SIGN_OUT_PATH = "/konsol/keluar/selesai"
# The console keeps its own short session cookie; the IdP's tokens are verified once, at the callback.
TOKEN_MINUTES = 60
REFRESH_HOURS = 12


def group_id(role: str) -> str:
    return "StaffGroup" + "".join(part.capitalize() for part in role.split("_"))


def parameters(table_prefix: str) -> dict[str, Any]:
    return {
        DOMAIN_PREFIX_PARAMETER: {
            "Type": "String", "Default": f"{table_prefix}-konsol", "AllowedPattern": "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
            "Description": "Prefix of the hosted sign-in domain <prefix>.auth.<region>.amazoncognito.com (unique "
                           "in the region; may not contain aws, amazon or cognito). Unused with an existing pool."},
        EXISTING_POOL_PARAMETER: {
            "Type": "String", "Default": "", "AllowedPattern": "^([\\w-]+_[0-9a-zA-Z]+)?$",
            "Description": "An existing Cognito user pool for staff (empty: the stack creates one)."},
        EXISTING_CLIENT_PARAMETER: {
            "Type": "String", "Default": "", "AllowedPattern": "^([\\w+]+)?$",
            "Description": "With ExistingUserPoolId: its public app client (no secret, code flow + PKCE)."},
        EXISTING_DOMAIN_PARAMETER: {
            "Type": "String", "Default": "", "AllowedPattern": "^([a-z0-9.-]+)?$",
            "Description": "With ExistingUserPoolId: the host name of its sign-in domain, e.g. "
                           "lapor.auth.ap-southeast-3.amazoncognito.com or a custom domain."},
    }


def conditions(has_public_url: str) -> dict[str, Any]:
    return {CREATE_POOL: {"Fn::Equals": [{"Ref": EXISTING_POOL_PARAMETER}, ""]},
            CREATE_POOL_WITH_URL: {"Fn::And": [{"Condition": CREATE_POOL}, {"Condition": has_public_url}]}}


def rules() -> dict[str, Any]:
    """An existing pool comes with its client and domain; half of one and half of a new one is no setup."""
    return {"ExistingUserPoolIsComplete": {
        "RuleCondition": {"Fn::Not": [{"Fn::Equals": [{"Ref": EXISTING_POOL_PARAMETER}, ""]}]},
        "Assertions": [
            {"Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": EXISTING_CLIENT_PARAMETER}, ""]}]},
             "AssertDescription": "ExistingUserPoolId needs ExistingUserPoolClientId"},
            {"Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": EXISTING_DOMAIN_PARAMETER}, ""]}]},
             "AssertDescription": "ExistingUserPoolId needs ExistingUserPoolDomain"}]}}


def resources(table_prefix: str, public_url_parameter: str) -> dict[str, Any]:
    made: dict[str, Any] = {
        USER_POOL: {
            "Type": "AWS::Cognito::UserPool", "Condition": CREATE_POOL,
            "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {
                "UserPoolName": f"{table_prefix}-staff",
                "DeletionProtection": "ACTIVE",
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                "UsernameAttributes": ["email"],
                "UsernameConfiguration": {"CaseSensitive": False},
                "AutoVerifiedAttributes": ["email"],
                "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
                # Staff see reporters' identities and confidential reports: a password alone is not enough.
                "MfaConfiguration": "ON",
                "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                "Policies": {"PasswordPolicy": {
                    "MinimumLength": 12, "RequireLowercase": True, "RequireUppercase": True,
                    "RequireNumbers": True, "RequireSymbols": False, "TemporaryPasswordValidityDays": 3}},
                "Schema": [{"Name": name, "AttributeDataType": "String", "Mutable": True,
                            "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "64"}}
                           for name in CUSTOM_ATTRIBUTES],
            }},
        USER_POOL_CLIENT: {
            "Type": "AWS::Cognito::UserPoolClient", "Condition": CREATE_POOL,
            "Properties": {
                "UserPoolId": {"Ref": USER_POOL},
                "ClientName": f"{table_prefix}-konsol",
                "GenerateSecret": False,
                "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
                "PreventUserExistenceErrors": "ENABLED",
                "SupportedIdentityProviders": ["COGNITO"],
                # Without PublicApiUrl there is no callback to name, and so no hosted-UI flow yet.
                "AllowedOAuthFlowsUserPoolClient": {"Fn::If": [CREATE_POOL_WITH_URL, True, False]},
                "AllowedOAuthFlows": {"Fn::If": [CREATE_POOL_WITH_URL, ["code"], {"Ref": "AWS::NoValue"}]},
                "AllowedOAuthScopes": {"Fn::If": [CREATE_POOL_WITH_URL, ["openid", "email", "profile"],
                                                  {"Ref": "AWS::NoValue"}]},
                "CallbackURLs": {"Fn::If": [CREATE_POOL_WITH_URL,
                                            [{"Fn::Sub": "${%s}%s" % (public_url_parameter, CALLBACK_PATH)}],
                                            {"Ref": "AWS::NoValue"}]},
                "LogoutURLs": {"Fn::If": [CREATE_POOL_WITH_URL,
                                          [{"Fn::Sub": "${%s}%s" % (public_url_parameter, SIGN_OUT_PATH)}],
                                          {"Ref": "AWS::NoValue"}]},
                "ReadAttributes": ["email", "email_verified", "name",
                                   *(f"custom:{name}" for name in CUSTOM_ATTRIBUTES)],
                "WriteAttributes": ["name"],
                "AccessTokenValidity": TOKEN_MINUTES, "IdTokenValidity": TOKEN_MINUTES,
                "RefreshTokenValidity": REFRESH_HOURS,
                "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "hours"},
                "EnableTokenRevocation": True,
            }},
        USER_POOL_DOMAIN: {
            "Type": "AWS::Cognito::UserPoolDomain", "Condition": CREATE_POOL,
            "Properties": {"UserPoolId": {"Ref": USER_POOL}, "Domain": {"Ref": DOMAIN_PREFIX_PARAMETER}}},
    }
    for role in STAFF_ROLES:
        made[group_id(role)] = {
            "Type": "AWS::Cognito::UserPoolGroup", "Condition": CREATE_POOL,
            "Properties": {"UserPoolId": {"Ref": USER_POOL}, "GroupName": str(role),
                           "Description": f"LAPOR role {role}: put each staff member in exactly one role group."}}
    return made


def _pool_id() -> dict[str, Any]:
    return {"Fn::If": [CREATE_POOL, {"Ref": USER_POOL}, {"Ref": EXISTING_POOL_PARAMETER}]}


def _client_id() -> dict[str, Any]:
    return {"Fn::If": [CREATE_POOL, {"Ref": USER_POOL_CLIENT}, {"Ref": EXISTING_CLIENT_PARAMETER}]}


def _domain() -> dict[str, Any]:
    return {"Fn::If": [CREATE_POOL, {"Fn::Sub": "${%s}.auth.${AWS::Region}.amazoncognito.com" % USER_POOL_DOMAIN},
                       {"Ref": EXISTING_DOMAIN_PARAMETER}]}


def environment() -> dict[str, Any]:
    """The variables that point token verification and console sign-in at the pool (NAMES.md)."""
    issuer = "https://cognito-idp.${AWS::Region}.amazonaws.com/${PoolId}"
    domain = "https://${Domain}"
    return {
        "LAPOR_JWKS_URL": {"Fn::Sub": [issuer + "/.well-known/jwks.json", {"PoolId": _pool_id()}]},
        "LAPOR_JWT_ISSUER": {"Fn::Sub": [issuer, {"PoolId": _pool_id()}]},
        "LAPOR_JWT_AUDIENCE": _client_id(),
        "LAPOR_CLAIM_MAPPING": "cognito",
        "LAPOR_OIDC_AUTHORIZE_URL": {"Fn::Sub": [domain + "/oauth2/authorize", {"Domain": _domain()}]},
        "LAPOR_OIDC_TOKEN_URL": {"Fn::Sub": [domain + "/oauth2/token", {"Domain": _domain()}]},
        "LAPOR_OIDC_LOGOUT_URL": {"Fn::Sub": [domain + "/logout", {"Domain": _domain()}]},
        "LAPOR_OIDC_CLIENT_ID": _client_id(),
    }


def outputs() -> dict[str, Any]:
    return {"StaffUserPoolId": {"Value": _pool_id()}, "StaffUserPoolClientId": {"Value": _client_id()},
            "StaffSignInDomain": {"Value": _domain()}}
