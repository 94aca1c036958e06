"""Cold start: `import app` (what every Lambda of ours does first) must not pull in heavy modules it does not need
yet. Each is loaded where it is used: PyJWT and cryptography when a token is checked (RS256/JWKS), Powertools when
an invocation is observed (and its batch exceptions only when a whole stream batch failed), Twilio when an SMS is
sent, Pillow when a photo is re-encoded, Jinja2 never by the app.

Measured (tests/bench/read_models.py `cold_start`, `python -m tests.bench.read_models --cold-start`): with these
lazy, `import app` costs about 1.1x `import boto3` plus one client. The ratio is in the bench, not here: a test on
wall time would be flaky on a shared machine; the module list is what keeps it down and does not flake.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Top-level packages that `import app` must not load (each measured at 5-60 ms of import on this machine).
HEAVY = ("aws_lambda_powertools", "cryptography", "jwt", "twilio", "jinja2", "PIL", "aws_xray_sdk", "pydantic",
         "holidays", "requests", "yaml", "moto")


def _modules_after(code: str) -> list[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "ap-southeast-3", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _heavy(modules: list[str]) -> list[str]:
    return sorted({name for name in modules if name.split(".")[0] in HEAVY})


def test_importing_the_app_loads_no_heavy_module():
    modules = _modules_after("import app")
    assert "app" in modules and "chalicelib.lambdas" in modules  # the probe did import the app
    assert _heavy(modules) == []


def test_the_probe_would_see_a_heavy_module_if_one_were_imported():
    assert "jinja2" in _heavy(_modules_after("import app, jinja2"))


def test_a_stream_batch_is_projected_without_powertools_batch_utility():
    """The projector handles the batch itself (grouping by report); Powertools' batch utility and its data
    classes stay unloaded unless every record of a batch failed (then its BatchProcessingError is raised)."""
    code = ("import app\n"
            "from projections.runner import Projector\n"
            "print(Projector([]).handle_batch({'Records': [{'eventName': 'REMOVE', 'dynamodb': {'SequenceNumber': '1'}}]}))")
    modules = _modules_after(code)
    assert not [name for name in modules if name.startswith("aws_lambda_powertools.utilities")]
