"""The staff user pool: admin-made accounts, one group per LAPOR role, custom attributes the client cannot
write, a public code+PKCE client, and the environment that points the app at it (NAMES.md)."""
from __future__ import annotations

import pytest

from chalicelib.domain.vocabulary import STAFF_ROLES
from infra import identity as i
from infra import template as t

STAGE, PREFIX = "dev", "lapor-dev"


@pytest.fixture(scope="module")
def doc() -> dict:
    return t.merge_template(STAGE, PREFIX)


def test_only_administrators_create_accounts_and_mfa_is_required(doc):
    pool = doc["Resources"][i.USER_POOL]
    props = pool["Properties"]
    assert props["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert props["MfaConfiguration"] == "ON"
    assert (pool["DeletionPolicy"], pool["UpdateReplacePolicy"], props["DeletionProtection"]) == (
        "Retain", "Retain", "ACTIVE")
    assert {a["Name"] for a in props["Schema"]} == {"institution_id", "unit_id", "province_code"}
    assert all(a["Mutable"] and a["AttributeDataType"] == "String" for a in props["Schema"])


def test_one_group_per_staff_role(doc):
    groups = {r["Properties"]["GroupName"] for r in doc["Resources"].values()
              if r.get("Type") == "AWS::Cognito::UserPoolGroup"}
    assert groups == {str(role) for role in STAFF_ROLES}
    assert "public" not in groups and "system" not in groups


def test_the_client_is_public_code_flow_and_cannot_write_its_scope(doc):
    props = doc["Resources"][i.USER_POOL_CLIENT]["Properties"]
    assert props["GenerateSecret"] is False
    condition, flows, _ = props["AllowedOAuthFlows"]["Fn::If"]
    assert condition == i.CREATE_POOL_WITH_URL and flows == ["code"]
    assert props["CallbackURLs"]["Fn::If"][1] == [{"Fn::Sub": "${PublicApiUrl}/konsol/masuk/kembali"}]
    assert props["LogoutURLs"]["Fn::If"][1] == [{"Fn::Sub": "${PublicApiUrl}/konsol/keluar/selesai"}]
    # A staff member must not move themselves to another institution with their own token.
    assert not [a for a in props["WriteAttributes"] if a.startswith("custom:")]
    assert {"custom:institution_id", "custom:unit_id", "custom:province_code"} <= set(props["ReadAttributes"])
    assert "ALLOW_USER_PASSWORD_AUTH" not in props["ExplicitAuthFlows"]
    assert doc["Conditions"][i.CREATE_POOL_WITH_URL] == {"Fn::And": [{"Condition": i.CREATE_POOL},
                                                                      {"Condition": t.HAS_PUBLIC_URL}]}


def test_the_app_gets_the_names_all_helpers_agreed(doc):
    variables = doc["Resources"][t.API_FUNCTION]["Properties"]["Environment"]["Variables"]
    pool = {"Fn::If": [i.CREATE_POOL, {"Ref": i.USER_POOL}, {"Ref": i.EXISTING_POOL_PARAMETER}]}
    client = {"Fn::If": [i.CREATE_POOL, {"Ref": i.USER_POOL_CLIENT}, {"Ref": i.EXISTING_CLIENT_PARAMETER}]}
    issuer = "https://cognito-idp.${AWS::Region}.amazonaws.com/${PoolId}"
    assert variables["LAPOR_JWKS_URL"] == {"Fn::Sub": [issuer + "/.well-known/jwks.json", {"PoolId": pool}]}
    assert variables["LAPOR_JWT_ISSUER"] == {"Fn::Sub": [issuer, {"PoolId": pool}]}
    assert variables["LAPOR_JWT_AUDIENCE"] == variables["LAPOR_OIDC_CLIENT_ID"] == client
    assert variables["LAPOR_CLAIM_MAPPING"] == "cognito"
    for name, path in (("LAPOR_OIDC_AUTHORIZE_URL", "/oauth2/authorize"), ("LAPOR_OIDC_TOKEN_URL", "/oauth2/token"),
                       ("LAPOR_OIDC_LOGOUT_URL", "/logout")):
        text, values = variables[name]["Fn::Sub"]
        assert text == "https://${Domain}" + path
        made, existing = values["Domain"]["Fn::If"][1:]
        assert made == {"Fn::Sub": "${StaffUserPoolDomain}.auth.${AWS::Region}.amazoncognito.com"}
        assert existing == {"Ref": i.EXISTING_DOMAIN_PARAMETER}


def test_an_existing_pool_replaces_every_made_resource_and_must_be_complete(doc):
    made = [name for name, r in doc["Resources"].items() if r.get("Type", "").startswith("AWS::Cognito::")]
    assert len(made) == 3 + len(STAFF_ROLES)
    assert all(doc["Resources"][name]["Condition"] == i.CREATE_POOL for name in made)
    assert doc["Conditions"][i.CREATE_POOL] == {"Fn::Equals": [{"Ref": i.EXISTING_POOL_PARAMETER}, ""]}
    rule = doc["Rules"]["ExistingUserPoolIsComplete"]
    asserted = {str(a["Assert"]) for a in rule["Assertions"]}
    assert any(i.EXISTING_CLIENT_PARAMETER in a for a in asserted)
    assert any(i.EXISTING_DOMAIN_PARAMETER in a for a in asserted)
