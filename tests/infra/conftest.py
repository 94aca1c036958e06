"""One `chalice package` of the app with the merged template, shared by every test module here.

It needs a region and no credentials; it runs `pip download` for requirements.txt (manylinux wheels) and
caches the result under .chalice/deployments/, so the first run on a machine takes longest (about 10 s idle,
15-25 s on a busy 2-core box; about 1 s from the cache). Chalice's cache key hashes requirements.txt *and*
vendor/, which holds events/ and projections/ through symlinks: any edit there means a fresh download.

Under pytest-xdist the first worker to need it packages, under a lock, into the run's shared temporary
folder; the others find it done there (pytest-xdist's documented way to run a session fixture once).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from infra import template as t

ROOT = Path(__file__).resolve().parents[2]
STAGE, PREFIX, REGION = "dev", "lapor-dev", "ap-southeast-3"
PACKAGE_TIMEOUT = 900


def clean_env() -> dict[str, str]:
    """os.environ without any AWS setting or credential (and no local endpoint), with only a region."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k != "DYNAMODB_ENDPOINT" and not k.startswith("LAPOR_")}
    env.update(AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return env


def _package(work: Path) -> dict:
    merge = t.write_merge_template(work / "merge.json", STAGE, PREFIX)
    out = work / "out"
    # The chalice CLI of this very interpreter (chalice has no __main__ module; pip runs as sys.executable).
    command = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())",
               "package", "--stage", STAGE, "--merge-template", str(merge), str(out)]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=PACKAGE_TIMEOUT)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, f"chalice package failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    print(f"\nchalice package took {elapsed:.1f} s")
    bundle = work / "bundle"
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        names = sorted(archive.namelist())
        archive.extractall(bundle)
    facts = {"out": str(out), "sam": str(out / "sam.json"), "zip": str(out / "deployment.zip"),
             "zip_names": names, "bundle": str(bundle), "elapsed": elapsed}
    (work / "packaged.json").write_text(json.dumps(facts))
    return facts


@pytest.fixture(scope="session")
def packaged(tmp_path_factory, worker_id) -> dict:
    # Chalice caches the dependencies in .chalice/deployments/<hash>.zip through a fixed .tmp.zip name, so two
    # processes packaging at once could corrupt it: one package at a time per checkout (the same lock file
    # whoever packages), and within one xdist run only once.
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    work = shared / "lapor-package"
    lock_path = Path(tempfile.gettempdir()) / f"lapor-package-{hashlib.sha256(bytes(ROOT)).hexdigest()[:12]}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (work / "packaged.json").exists():
            facts = json.loads((work / "packaged.json").read_text())
        else:
            work.mkdir(parents=True, exist_ok=True)
            facts = _package(work)
    return {**facts, "out": Path(facts["out"]), "sam": Path(facts["sam"]), "zip": Path(facts["zip"]),
            "zip_names": set(facts["zip_names"]), "bundle": Path(facts["bundle"])}


@pytest.fixture(scope="session")
def sam(packaged) -> dict:
    return json.loads(packaged["sam"].read_text())
