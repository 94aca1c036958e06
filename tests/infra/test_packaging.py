"""`chalice package` + the merged template, then the bundle on its own (DESIGN §2: a module missing from the
Lambda bundle must fail CI, not production).

One `chalice package` run (the session fixture in conftest.py) feeds every test here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from infra import template as t
from infra.tables import TABLES
from tests.infra.conftest import PREFIX, STAGE

ROOT = Path(__file__).resolve().parents[2]


def test_the_merge_lands_on_the_resources_chalice_generates(packaged):
    sam = json.loads(packaged["sam"].read_text())
    resources = sam["Resources"]
    # A fragment merged onto a logical id Chalice does not generate would be a resource without a Type.
    assert all("Type" in r for r in resources.values()), [k for k, r in resources.items() if "Type" not in r]
    assert set(t.CHALICE_RESOURCES) <= set(resources)
    assert resources[t.API_FUNCTION]["Type"] == "AWS::Serverless::Function"
    assert resources[t.PROJECTOR_FUNCTION]["Type"] == "AWS::Serverless::Function"
    assert resources[t.PROJECTOR_FUNCTION]["Properties"]["Handler"] == "app.project_events"
    assert resources[t.API_ROLE]["Type"] == resources[t.PROJECTOR_ROLE]["Type"] == "AWS::IAM::Role"
    assert "DefaultRole" not in resources  # autogen_policy false: one role per function (stack.md §2d)
    for function in (t.API_FUNCTION, t.PROJECTOR_FUNCTION):
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        assert variables["LAPOR_TABLE_PREFIX"] == PREFIX and variables["LAPOR_STAGE"] == STAGE
    mapping = resources[t.STREAM_MAPPING]["Properties"]
    assert mapping["FunctionName"] == {"Ref": t.PROJECTOR_FUNCTION}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    for spec in TABLES.values():
        assert resources[spec.cfn_resource]["Type"] == "AWS::DynamoDB::Table"
    # Chalice must not wire a second (LATEST, no error handling) consumer onto the stream.
    assert not [k for k, r in resources.items() if r["Type"] == "AWS::Lambda::EventSourceMapping"
                and k != t.STREAM_MAPPING]
    assert "Events" not in resources[t.PROJECTOR_FUNCTION]["Properties"]
    # The names the template assumes for what Chalice makes.
    assert resources[t.REST_API]["Properties"]["StageName"] == t.API_STAGE
    assert resources[t.REST_API]["Properties"]["Name"] == PREFIX  # the alarms' ApiName


def test_each_function_gets_the_memory_timeout_logs_and_tracing_chosen_for_it(packaged):
    resources = json.loads(packaged["sam"].read_text())["Resources"]
    functions = {name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert functions == set(t.FUNCTIONS)  # a new function must get a size, a log group and alarms
    for function, (memory, timeout) in t.FUNCTION_SIZES.items():
        props = resources[function]["Properties"]
        assert (props["MemorySize"], props["Timeout"]) == (memory, timeout), function
        assert props["LoggingConfig"]["LogGroup"] == {"Ref": f"{function}LogGroup"}
        assert props["Tracing"] == {"Ref": t.TRACING_PARAMETER}
    assert resources[t.API_FUNCTION]["Properties"]["MemorySize"] > 128  # Chalice's default: ~12 s cold starts
    # One place decides the sizes: the template (a value in .chalice/config.json would be silently overridden).
    config = (ROOT / ".chalice" / "config.json").read_text()
    assert "lambda_memory_size" not in config and "lambda_timeout" not in config


# cfn-lint rules the template knowingly breaks, each with its reason. Empty: errors, warnings and informational
# findings are all fixed (I3011 — DeletionPolicy/UpdateReplacePolicy on stateful resources — included).
CFN_LINT_ALLOWED: dict[str, str] = {}


def test_cfn_lint_finds_nothing_but_the_allowed(packaged):
    # cfn-lint exit code is a bit mask: 2 errors, 4 warnings, 8 informational; 1 means it could not run.
    # `-c I` includes the informational rules (off by default).
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    command = ([str(cfn_lint)] if cfn_lint.exists()
               else [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"])
    done = subprocess.run(command + ["--format", "json", "-c", "I", "--", str(packaged["sam"])],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 1 and done.stdout.strip(), f"cfn-lint did not run:\n{done.stdout}\n{done.stderr}"
    findings = json.loads(done.stdout)
    unexplained = [f"{f['Rule']['Id']} {f['Message']} ({f['Location']['Path']})" for f in findings
                   if f["Rule"]["Id"] not in CFN_LINT_ALLOWED]
    assert not unexplained, "cfn-lint:\n" + "\n".join(unexplained)
    assert (done.returncode == 0) == (not findings), f"rc={done.returncode} with {len(findings)} findings"


def test_bundle_holds_the_top_level_packages_and_data_files(packaged):
    names = packaged["zip_names"]
    assert "app.py" in names
    expected = {str(p.relative_to(ROOT)) for package in ("events", "projections", "chalicelib")
                for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts}
    expected |= {str(p.relative_to(ROOT)) for p in (ROOT / "chalicelib" / "reference" / "data").glob("*.json")}
    expected.add("chalicelib/data/working_day_overrides.json")
    # the pages' stylesheet, the chart script and Chart.js (which `make setup` copies there, pinned)
    expected |= {f"chalicelib/web/static/{name}" for name in ("lapor.css", "statistik.js", "chart.umd.min.js")}
    assert any(n.startswith("chalicelib/reference/data/") and n.endswith(".json") for n in expected)
    expected |= {"infra/__init__.py", "infra/tables.py"}  # the table specs the Lambda code needs
    assert not sorted(expected - names)


def test_bundle_leaves_out_the_local_runtime_the_cli_and_the_build_time_template(packaged):
    names = packaged["zip_names"]
    shipped_infra = sorted(n for n in names if n.startswith("infra/"))
    assert shipped_infra == ["infra/__init__.py", "infra/tables.py"], shipped_infra
    ours = ("infra/", "chalicelib/", "events/", "projections/")  # dependencies may ship a cli.py of their own
    local = [n for n in names if n.startswith(("infra/local/", "chalicelib/local/"))
             or (n.startswith(ours) and n.endswith("cli.py")) or "LoopbackDynamoDB" in n or "moto_speedups" in n]
    assert local == []
    assert (ROOT / "infra" / "local" / "server.py").exists()  # it exists, it just does not ship


def _run_from_bundle(bundle: Path, body: str) -> subprocess.CompletedProcess:
    """Run `body` in a clean interpreter whose sys.path is the bundle plus the standard library only."""
    code = textwrap.dedent("""
        import sys
        bundle = {bundle!r}
        sys.path[:] = [bundle] + [p for p in sys.path[1:] if p and "site-packages" not in p
                                  and "dist-packages" not in p]
        stdlib = tuple(sys.path[1:])
        """).format(bundle=str(bundle)) + textwrap.dedent(body) + textwrap.dedent("""
        outside = sorted(name for name, module in list(sys.modules.items())
                         if getattr(module, "__file__", None)
                         and not module.__file__.startswith((bundle,) + stdlib))
        assert not outside, f"imported from outside the bundle: {outside}"
        """)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    # -S: no site-packages (so no editable install of this project either); -E: no PYTHONPATH & co.
    return subprocess.run([sys.executable, "-S", "-E", "-c", code], cwd=bundle, env=env, capture_output=True,
                          text=True, timeout=120)


def test_handlers_import_from_the_bundle_alone(packaged):
    done = _run_from_bundle(packaged["bundle"], """
        import app
        assert "/reports" in app.app.routes, sorted(app.app.routes)
        assert app.project_events is not None and callable(app.project_events)
        # What the first request / first stream batch imports lazily, and the package data they read.
        import chalicelib.lambdas, projections.runner, projections.stream, boto3.dynamodb.types
        from chalicelib.reference import load_reference
        from chalicelib.domain.working_days import default_calendar
        load_reference()
        default_calendar()
        # The citizen pages: jinja2 and every template and the stylesheet ship with the handler.
        from chalicelib.web import render
        for template in render._environment().list_templates():
            render._environment().get_template(template)
        assert render.stylesheet()[0]
        from chalicelib.web import statistik
        assert all(statistik.asset(name)[0] for name in statistik.ASSETS)
        print("routes", len(app.app.routes))
        """)
    assert done.returncode == 0, f"importing the handler from the bundle failed:\n{done.stdout}\n{done.stderr}"


def test_bundle_can_verify_rs256_staff_tokens(packaged):
    # The template's default (staff_auth="jwks") sets LAPOR_JWKS_URL, so the API verifies RS256 tokens:
    # PyJWT needs the `cryptography` package for that (requirements.txt: PyJWT[crypto] or cryptography).
    done = _run_from_bundle(packaged["bundle"], """
        import jwt.algorithms
        assert jwt.algorithms.has_crypto, "cryptography is not in the bundle: RS256 (JWKS) tokens cannot be verified"
        assert "RS256" in jwt.algorithms.get_default_algorithms()
        """)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"


def test_bundle_leaves_out_development_only_packages(packaged):
    top_level = {name.split("/", 1)[0] for name in packaged["zip_names"]}
    assert not top_level & {"moto", "pytest", "cfnlint", "tests", "_pytest"}, sorted(top_level)

