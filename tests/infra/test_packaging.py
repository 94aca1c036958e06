"""`chalice package` + the merged template, then the bundle on its own (DESIGN §2: a module missing from the
Lambda bundle must fail CI, not production).

One `chalice package` run (module fixture) feeds every test here. It needs a region and no credentials; it
runs `pip download` for requirements.txt (manylinux wheels) and caches the result under
.chalice/deployments/, so the first run on a machine takes longest (about 10 s idle, 15-25 s on a busy
2-core box; about 1 s from the cache). Chalice's cache key hashes requirements.txt *and* vendor/, which
holds events/ and projections/ through symlinks: any edit there means a fresh download.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from infra import template as t
from infra.tables import TABLES

ROOT = Path(__file__).resolve().parents[2]
STAGE, PREFIX, REGION = "dev", "lapor-dev", "ap-southeast-3"
PACKAGE_TIMEOUT = 900


def _clean_env() -> dict[str, str]:
    """os.environ without any AWS setting or credential (and no local endpoint), with only a region."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k != "DYNAMODB_ENDPOINT" and not k.startswith("LAPOR_")}
    env.update(AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return env


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("package")
    merge = t.write_merge_template(work / "merge.json", STAGE, PREFIX)
    out = work / "out"
    # The chalice CLI of this very interpreter (chalice has no __main__ module; pip runs as sys.executable).
    command = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())",
               "package", "--stage", STAGE, "--merge-template", str(merge), str(out)]
    # Chalice caches the dependencies in .chalice/deployments/<hash>.zip through a fixed .tmp.zip name, so two
    # pytest-xdist workers packaging at once could corrupt it: one package at a time per checkout.
    lock_path = Path(tempfile.gettempdir()) / f"lapor-package-{hashlib.sha256(bytes(ROOT)).hexdigest()[:12]}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, env=_clean_env(), capture_output=True, text=True,
                              timeout=PACKAGE_TIMEOUT)
        elapsed = time.monotonic() - started
    assert done.returncode == 0, f"chalice package failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    print(f"\nchalice package took {elapsed:.1f} s")
    bundle = work / "bundle"
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        names = set(archive.namelist())
        archive.extractall(bundle)
    return {"out": out, "sam": out / "sam.json", "zip_names": names, "bundle": bundle, "elapsed": elapsed}


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


def test_cfn_lint_finds_no_errors(packaged):
    # cfn-lint exit code is a bit mask: 2 errors, 4 warnings, 8 informational; 1 means it could not run.
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    command = ([str(cfn_lint)] if cfn_lint.exists()
               else [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"])
    done = subprocess.run(command + [str(packaged["sam"])], capture_output=True, text=True, timeout=300)
    report = done.stdout + done.stderr
    assert done.returncode & 3 == 0, f"cfn-lint rc={done.returncode}:\n{report}"
    if report.strip():
        print(f"\ncfn-lint warnings/notes:\n{report}")


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

