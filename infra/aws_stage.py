"""A deployed stage, for the operator commands (`lapor ... --stage STAGE`), with the caller's AWS credentials.

The commands run with exactly the settings the deployed functions run with: they are read from the API
function's configuration (its environment, where CloudFormation resolved the Secrets Manager references at
deploy), the function found as the stack's `APIHandler` resource. So a command never guesses a table prefix, a
bucket or a secret, and an operator needs only read access to that function and the stack, plus the data
access the command itself needs (the README lists them).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.settings import Settings, SettingsError

API_HANDLER = "APIHandler"  # the logical id `chalice package` gives the API function
FAILURE_QUEUE = "ProjectorFailureQueue"  # infra/template.py's on-failure destination of the stream mapping


class StageNotFound(Exception):
    """Said to the operator as it is: which stack, which region, what AWS answered."""


@dataclass(frozen=True)
class DeployedStage:
    stack: str
    region: str
    settings: Settings
    failure_queue_url: str | None


def stack_name(stage: str) -> str:
    return f"lapor-{stage}"


def find_stage(session: Any, stage: str, *, stack: str | None = None) -> DeployedStage:
    """The deployed stage's settings and failure queue, from CloudFormation and Lambda."""
    stack = stack or stack_name(stage)
    region = session.region_name
    if not region:
        raise StageNotFound("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region)")
    cloudformation = session.client("cloudformation")
    function = _physical_id(cloudformation, stack, API_HANDLER, region)
    environment = session.client("lambda").get_function_configuration(FunctionName=function) \
        .get("Environment", {}).get("Variables", {})
    if environment.get("LAPOR_STAGE") != stage:
        raise StageNotFound(f"the function {function} of stack {stack} serves stage "
                            f"{environment.get('LAPOR_STAGE')!r}, not {stage!r}: name the stack with --stack")
    try:
        settings = Settings.from_env(environment | {"AWS_REGION": region})
    except SettingsError as wrong:
        raise StageNotFound(f"the function {function} has settings the app would refuse: {wrong}") from None
    try:
        queue: str | None = _physical_id(cloudformation, stack, FAILURE_QUEUE, region)
    except StageNotFound:
        queue = None  # a stack from before the queue existed; only `lapor reproject --failures` needs it
    return DeployedStage(stack=stack, region=region, settings=settings, failure_queue_url=queue)


def _physical_id(cloudformation: Any, stack: str, logical_id: str, region: str) -> str:
    try:
        detail = cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)
    except cloudformation.exceptions.ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        raise StageNotFound(f"stack {stack} in {region}: {message}") from None
    return detail["StackResourceDetail"]["PhysicalResourceId"]
