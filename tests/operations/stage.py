"""A deployed stage in moto: the stack resources the operator commands look up (as `chalice package` and
infra/template.py name them), with the API function's environment as CloudFormation would have resolved it."""
from __future__ import annotations

import json

import boto3

ENVIRONMENT = {"LAPOR_STAGE": "prod", "LAPOR_TABLE_PREFIX": "lapor-prod", "LAPOR_TOKEN_SECRET": "k" * 32,
               "LAPOR_JWKS_URL": "https://cognito-idp.ap-southeast-3.amazonaws.com/pool/.well-known/jwks.json",
               "LAPOR_ARCHIVE_BUCKET": "lapor-prod-archive"}


def deploy(stack: str = "lapor-prod", environment: dict[str, str] | None = None, queue: bool = True) -> None:
    """A stack with the two resources the commands look up, as `chalice package` and infra/template.py name them."""
    resources = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                   "Principal": {"Service": "lambda.amazonaws.com"}}]}}},
        "APIHandler": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.11", "Handler": "app.app", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "app = None"},
            "Environment": {"Variables": ENVIRONMENT if environment is None else environment}}}}
    if queue:
        resources["ProjectorFailureQueue"] = {"Type": "AWS::SQS::Queue",
                                              "Properties": {"QueueName": f"{stack}-projector-failures"}}
    boto3.client("cloudformation").create_stack(StackName=stack, TemplateBody=json.dumps({"Resources": resources}),
                                                Capabilities=["CAPABILITY_IAM"])
