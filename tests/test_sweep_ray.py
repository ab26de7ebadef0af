"""A sweep on a real two-node Ray cluster: a head and a worker, each `ray start`ed with its own temp dir.

Checks that both nodes train, that a killed worker's unit is retried on the other node and ends
bit-identical to a local run, and that no shared file system is assumed: where the kernel lets
us (``unshare -m``, root in a container), the worker node runs in a mount namespace where the
driver's sweep folder is an empty tmpfs, so it cannot read or write a byte of ``--out``.

Only this test's own cluster is stopped: its nodes run in new sessions, and cleanup signals
exactly the processes of those sessions (never ``ray stop``, which stops every Ray on the machine).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import SMALL_MODEL, tiny_toml

pytest.importorskip("ray")
pytestmark = [pytest.mark.slow,  # two Ray nodes and three sweeps: about 2 min on a busy 2-core box
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="node cleanup reads /proc")]


def spec_text(steps: int) -> str:
    """A 2 x 2 grid of tiny runs of ``steps`` steps."""
    return tiny_toml(task={"p": 7, "frac_train": 0.3}, model=SMALL_MODEL,
                     train={"steps": steps, "eval_every": 10, "checkpoint_every": 50}) + GRID


GRID = """
[sweep.grid]
"train.weight_decay" = [0.0, 1.0]
"model.seed" = [1, 2]
"""


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def session_pids(sid: int) -> list[int]:
    """Every process of session ``sid`` (a node started with start_new_session: its whole process tree)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid:  # field 6 of stat: the session id
                pids.append(int(entry.name))
    return pids


def stop_node(proc: subprocess.Popen, sig: int = signal.SIGTERM, wait_s: float = 15) -> None:
    """Signal the node's session, then SIGKILL whatever of it is left after ``wait_s``."""
    for pid in session_pids(proc.pid):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + wait_s
    while session_pids(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in session_pids(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def can_hide(folder: Path) -> bool:
    """Whether a mount namespace can lay an empty tmpfs over ``folder`` (root with CAP_SYS_ADMIN)."""
    if shutil.which("unshare") is None:
        return False
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs", str(folder)],
                          capture_output=True)
    return done.returncode == 0


def start_node(args: list[str], log: Path, env: dict, hide: Path | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", "--node-ip-address", "127.0.0.1", *args]
    if hide is not None:
        script = f"mount -t tmpfs tmpfs '{hide}' && exec \"$@\""
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", *cmd]
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)


def wait_for(what: str, check, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    """Poll ``check``; fail with the log's tail when ``proc`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
            tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
            raise AssertionError(f"{'timed out' if proc is None or proc.poll() is None else 'exited'} waiting for "
                                 f"{what}\n{tail}")
        time.sleep(0.5)


def runtime_started(log: Path):
    return lambda: "Ray runtime started" in log.read_text(errors="replace")


def sweep(spec: Path, out: Path, *extra: str, wait: bool = True, env: dict | None = None):
    cmd = [sys.executable, "-m", "grokkit", "sweep", str(spec), "--out", str(out), "--threads", "1", "--no-progress",
           *extra]
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def final_files(out: Path) -> dict[str, bytes]:
    """Every checkpoint file of every run, and the metrics without their wall-clock column."""
    files = {}
    for run in sorted((out / "runs").iterdir()):
        for path in sorted((run / "checkpoints").rglob("*.safetensors")):
            files[str(path.relative_to(out))] = path.read_bytes()
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        files[f"{run.name}/metrics"] = json.dumps([{k: v for k, v in r.items() if k != "wall_s"} for r in rows]).encode()
    return files


def test_two_node_cluster_trains_on_both_nodes_and_resumes_a_killed_workers_runs(tmp_path):
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="gk-ray-"))  # short: Ray's socket paths live under the temp dirs
    driver = tmp_path / "driver"  # the sweep folders: hidden from the worker node where possible
    driver.mkdir()
    for name in ("head", "worker", "worker-tmp"):
        (base / name).mkdir()
    hidden = can_hide(driver)
    gcs, client, dash, agent1, metrics1, agent2, metrics2 = free_ports(7)
    env = {**os.environ, "RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "4",
           "RAY_USAGE_STATS_ENABLED": "0",
           # a ~/.ray/auth_token (Ray writes one when ray.init starts a local instance) would switch the
           # head to token auth by default; this cluster is the test's own, on one box
           "RAY_AUTH_MODE": "disabled"}
    nodes: list[subprocess.Popen] = []
    try:
        nodes.append(start_node(["--head", "--port", str(gcs), "--num-cpus", "1", "--temp-dir", str(base / "head"),
                                 "--include-dashboard=false", "--dashboard-port", str(dash),
                                 "--ray-client-server-port", str(client), "--dashboard-agent-listen-port", str(agent1),
                                 "--metrics-export-port", str(metrics1)], base / "head.log", env))
        wait_for("the head node", runtime_started(base / "head.log"), 180, nodes[0], base / "head.log")
        worker_env = {**env, "TMPDIR": str(base / "worker-tmp")}  # where the worker node trains
        nodes.append(start_node(["--address", f"127.0.0.1:{gcs}", "--num-cpus", "1",
                                 "--temp-dir", str(base / "worker"), "--dashboard-agent-listen-port", str(agent2),
                                 "--metrics-export-port", str(metrics2)], base / "worker.log", worker_env,
                                hide=driver if hidden else None))
        wait_for("the worker node", runtime_started(base / "worker.log"), 180, nodes[1], base / "worker.log")
        address = ["--address", f"127.0.0.1:{gcs}"]

        # 1. Both nodes train; the worker never sees --out (an empty tmpfs there, where the kernel allows)
        short = tmp_path / "short.toml"
        short.write_text(spec_text(100))
        done = sweep(short, driver / "a", *address, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "ray: 2 node(s), 2 CPU(s)" in done.stdout
        assert done.stdout.count("run train.weight_decay=") == 4, done.stdout  # a line per finished run
        placed = json.loads((driver / "a" / "nodes.json").read_text())
        assert len(placed) == 4 and len(set(placed.values())) == 2, placed
        assert "(raylet)" not in done.stdout + done.stderr and "Traceback" not in done.stderr
        assert not re.search(r"^\[\d{4}-", done.stderr, re.M), done.stderr  # no Ray C++ log lines

        # 2. Kill the worker node while it trains: its unit is retried on the head, bit-identically
        long = tmp_path / "long.toml"
        long.write_text(spec_text(400))
        running = sweep(long, driver / "b", *address, wait=False, env=env)
        first_checkpoint = lambda: any((base / "worker-tmp").glob("grokkit-ray-*/*/checkpoints/step_0000050"))
        wait_for("the worker's first checkpoint", first_checkpoint, 300)
        stop_node(nodes[1], signal.SIGKILL)
        out, err = running.communicate(timeout=600)
        assert running.returncode == 0, err[-2000:]
        placed = json.loads((driver / "b" / "nodes.json").read_text())
        assert len(set(placed.values())) == 1, placed  # all four ended on the head
        assert "(raylet)" not in out + err and "Traceback" not in err
        assert not re.search(r"^\[\d{4}-", err, re.M), err

        local = sweep(long, driver / "local")
        assert local.returncode == 0, local.stderr[-2000:]
        assert final_files(driver / "b") == final_files(driver / "local")
        print(f"two-node Ray test: {time.monotonic() - started:.0f} s; worker hid --out: {hidden}; "
              f"after the kill: {[line for line in out.splitlines() if line.startswith('ray: note')]}")
    finally:
        for node in reversed(nodes):
            stop_node(node)
        shutil.rmtree(base, ignore_errors=True)
