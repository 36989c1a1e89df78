"""Throwaway copies of the infrastructure, so a fault test can restart or kill them without touching anything else:
a PostgreSQL cluster, an append-only Redis, a Ray head, and a tiny tmpfs media root that fills up."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float, up: bool = True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise AssertionError(f"port {port} did not {'open' if up else 'close'} within {timeout} s")


def _as_postgres(*args: str) -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


class PostgresCluster:
    """initdb + pg_ctl on a free port in a private folder."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(_as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"),
                       check=True, capture_output=True)
        self.start()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(_as_postgres("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
                                    "-w", *args), check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        # "fast": every open connection is cut, as when the database server fails over or is restarted.
        self._ctl("-m", "fast", "restart")

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.database_url(database), autocommit=True) as connection:
            connection.execute(statement)

    def stop(self) -> None:
        try:
            self._ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class RedisServer:
    """redis-server with the deployment's own durability flags (docker-compose.yml), on a free port."""

    def __init__(self) -> None:
        from tests.rollouts.test_redis_restart import compose_redis_command

        self.folder = Path(tempfile.mkdtemp(prefix="faults-redis-"))
        self.port = free_port()
        self.command = compose_redis_command()
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        from tests.rollouts.test_redis_restart import start_redis

        self.process = start_redis(self.port, self.folder, self.command)

    def restart(self, down_seconds: float = 1.0) -> None:
        self.process.send_signal(signal.SIGTERM)  # a normal restart: Redis flushes its append-only file and exits
        self.process.wait(30)
        time.sleep(down_seconds)
        self.start()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        shutil.rmtree(self.folder, ignore_errors=True)


class RayHead:
    """`ray start --head` in a private temp folder; kill() takes down that head (and only it) with SIGKILL, the way a
    node dies: every process of it, its workers and actors included. start() after kill() is a replacement node (a new
    pod): the same address, an empty temp folder."""

    def __init__(self, num_cpus: int = 2) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="faults-ray-", dir="/tmp"))
        self.port = free_port()
        self.num_cpus = num_cpus
        self.starts = 0
        self.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def driver_env(self) -> dict[str, str]:
        """What a driver process needs to join this head: its address and its (disabled) token authentication.
        Left unset, a driver picks token mode when ~/.ray/auth_token exists, or inherits RAY_AUTH_MODE=token from a
        process that started a local Ray; the head then can't call it and every actor creation is cancelled."""
        return {"RAY_ADDRESS": self.address, "RAY_AUTH_MODE": "disabled"}

    def start(self) -> None:
        self.starts += 1
        self.folder = self.root / f"node{self.starts}"
        self.folder.mkdir()
        ray = str(Path(sys.executable).parent / "ray")  # the venv's own ray, beside this Python
        # Token authentication off, like the drivers that join it (driver_env).
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": self.driver_env()["RAY_AUTH_MODE"]}
        subprocess.run([ray, "start", "--head", f"--port={self.port}",
                        f"--num-cpus={self.num_cpus}", "--include-dashboard=false", "--disable-usage-stats",
                        f"--temp-dir={self.folder}", "--object-store-memory=268435456"],
                       check=True, capture_output=True, env=env, timeout=120)
        wait_port(self.port, 30)

    def processes(self) -> list[psutil.Process]:
        """The head's own processes (named by its folder or its GCS port) and everything they started: workers and
        actors rename themselves ("ray::HeadshotActor"), so they are found as children, not by name."""
        mine: dict[int, psutil.Process] = {}
        for process in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(process.info["cmdline"] or [])
            if str(self.root) in cmdline or f"127.0.0.1:{self.port}" in cmdline and "gcs" in cmdline:
                mine[process.pid] = process
                try:
                    mine.update({child.pid: child for child in process.children(recursive=True)})
                except psutil.NoSuchProcess:
                    pass
        return list(mine.values())

    def kill(self) -> None:
        for _ in range(5):  # until nothing of it is left (a process may be starting a worker as we go)
            found = self.processes()
            if not found:
                break
            for process in found:
                try:
                    process.send_signal(signal.SIGKILL)
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(found, timeout=10)
        wait_port(self.port, 30, up=False)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


class TinyDisk:
    """A tmpfs of a few MB mounted as the media root, and a filler file that uses up its free space."""

    def __init__(self, size_mb: int = 8) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="faults-media-"))
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(self.path)], check=True,
                       capture_output=True)
        self.filler = self.path / "filler.bin"

    @staticmethod
    def available() -> str | None:
        """None when tmpfs can be mounted here, else the reason it can't."""
        if os.geteuid() != 0:
            return "mounting a tmpfs needs root"
        probe = Path(tempfile.mkdtemp(prefix="faults-probe-"))
        try:
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)], capture_output=True)
            if done.returncode:
                return f"mount -t tmpfs failed: {done.stderr.decode().strip()}"
            subprocess.run(["umount", str(probe)], check=True)
            return None
        finally:
            probe.rmdir()

    def fill(self, leave_bytes: int = 0) -> None:
        free = shutil.disk_usage(self.path).free
        with open(self.filler, "wb") as handle:
            handle.truncate(0)
            chunk = b"\0" * (1 << 20)
            remaining = free - leave_bytes
            while remaining > 0:
                try:
                    handle.write(chunk[:min(len(chunk), remaining)])
                    handle.flush()
                except OSError:
                    break
                remaining -= len(chunk)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def stop(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
        shutil.rmtree(self.path, ignore_errors=True)
