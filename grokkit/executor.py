"""The sweep executor: run units of work here ("local") or as Ray tasks ("ray"), one for every sweep.

Both sweeps stand on it: a *unit* is what a sweep trains at once, a stack of transformer runs
(``grokkit.sweep.batches``) or a chunk of toy models (``grokkit.toy.unit``). The sweep hands the
executor a list of payloads, a ``work(payload)`` function and a ``land(index, result, node)`` function:

- ``work`` runs wherever the unit is placed: in this process, or in a Ray worker on any node.
  Payloads and results are plain data and bytes (no paths the worker must see), so a
  cluster needs no shared file system.
- ``land`` runs here, in the driver, as each unit comes back (in completion order): it
  checks and writes the unit's files and prints a line per finished run.

Under Ray each unit is one task of one CPU (one GPU where the cluster has GPUs), with
``torch`` held to that many threads, so a run trains bit-identically to a local run with
``--threads 1``. A task whose worker or node dies is retried on another node
(``RETRIES``) from the payload the driver sent, so it ends with the same bytes as an
uninterrupted one. ``slots`` (the cluster's CPUs, or GPUs) lets a sweep size its units so
every node gets work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from grokkit.errors import ConfigError, GrokkitError, RunError

EXECUTORS = ("local", "ray")
RETRIES = 3  # Ray re-runs a task whose worker or node died this many times before giving up


@dataclass
class ExecutorOptions:
    """Where a sweep trains."""

    kind: str | None = None
    """"local" or "ray"; None: "ray" when ``address`` or ``num_cpus`` is given, else "local"."""
    address: str | None = None
    """Ray cluster address (``ray start --head`` prints it); None: start a local Ray instance."""
    num_cpus: int | None = None
    """CPUs of a local Ray instance (None: all of this machine's)."""

    def __post_init__(self) -> None:
        ray_only = [flag for flag, value in (("--address", self.address), ("--num-cpus", self.num_cpus))
                    if value is not None]
        if self.kind is None:
            self.kind = "ray" if ray_only else "local"
        if self.kind not in EXECUTORS:
            raise ConfigError(f"--executor: must be one of {', '.join(EXECUTORS)}, got {self.kind!r}")
        if self.kind == "local" and ray_only:
            raise ConfigError(f"{ray_only[0]}: only with --executor ray (leave --executor out: it implies Ray)")
        if self.num_cpus is not None and (isinstance(self.num_cpus, bool) or self.num_cpus < 1):
            raise ConfigError(f"--num-cpus: must be an integer >= 1, got {self.num_cpus!r}")


def _run_unit(work: Callable[[Any], Any], payload: Any, threads: int) -> tuple[Any, str | None]:
    """A Ray task's body: ``work`` with torch held to the task's CPUs; returns its result and the node id."""
    import ray

    from grokkit.train.device import set_threads

    set_threads(threads)
    return work(payload), ray.get_runtime_context().get_node_id()


class Executor:
    """``with Executor(options) as ex: ex.run(payloads, work, land)``; ``ex.slots``: units that run at once."""

    def __init__(self, options: ExecutorOptions, report: Callable[[str], None] = print):
        self.options, self.report = options, report
        self.slots, self._gpus, self._started_ray = 1, 0, False
        self._restore: Callable[[], None] | None = None

    def __enter__(self) -> "Executor":
        if self.options.kind == "ray":
            self._start_ray()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._restore is not None:
            self._restore()
        if self._started_ray:
            import ray

            ray.shutdown()

    def _start_ray(self) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("--executor ray: Ray is not installed; pip install 'grokkit[ray]'") from None
        if not ray.is_initialized():
            if self.options.address:
                _check_reachable(self.options.address)
            # Ray's own chatter (worker logs, raylet notes, "connecting to…") stays in its log files
            quiet = {"log_to_driver": False, "logging_level": logging.ERROR, "configure_logging": True}
            try:
                if self.options.address:
                    ray.init(address=self.options.address, **quiet)
                else:
                    ray.init(num_cpus=self.options.num_cpus, include_dashboard=False, **quiet)
            except ConnectionError as exc:
                raise RunError(f"--address {self.options.address}: no Ray cluster answers there "
                               f"({str(exc).splitlines()[0][:160]})") from None
            self._started_ray = True
        self._restore = _shorten_raylet_notes(self.report)
        resources = ray.cluster_resources()
        self._gpus = int(resources.get("GPU", 0))
        self.slots = max(1, self._gpus or int(resources.get("CPU", 1)))
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        per = f"{self._gpus} GPU(s)" if self._gpus else f"{int(resources.get('CPU', 1))} CPU(s)"
        self.report(f"ray: {nodes} node(s), {per}: up to {self.slots} task(s) at once")

    def run(self, payloads: Sequence[Any], work: Callable[[Any], Any],
            land: Callable[[int, Any, str | None], None]) -> None:
        """``work(payload)`` for each payload (here or on Ray), then ``land(index, result, node)`` here."""
        if self.options.kind != "ray":
            for i, payload in enumerate(payloads):
                land(i, work(payload), None)
            return
        import ray

        resources = {"num_gpus": 1, "num_cpus": 1} if self._gpus else {"num_cpus": 1}
        task = ray.remote(max_retries=RETRIES, **resources)(_run_unit)
        pending = {task.remote(work, payload, 1): i for i, payload in enumerate(payloads)}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                i = pending.pop(ready[0])
                result, node = _get(ray, ready[0], i)
                land(i, result, node)
        finally:
            for ref in pending:  # Ctrl-C or a failed unit: stop what is still queued or running
                ray.cancel(ref, force=True)


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A plain ``HOST:PORT`` must answer a TCP connect (Ray itself retries for minutes, printing warnings)."""
    import socket

    host, sep, port = address.rpartition(":")
    if "://" in address or not sep or not port.isdigit():
        return  # "auto", ray://…: Ray's own forms, left to Ray
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise RunError(f"--address {address}: nothing answers there ({exc.strerror or exc}); "
                       "start the cluster with `ray start --head` and pass the address it prints") from None


def _shorten_raylet_notes(report: Callable[[str], None]) -> Callable[[], None] | None:
    """Turn the raylet's notes on the driver's terminal (a dead node's task retried, with a paragraph of
    advice) into one short ``ray: note:`` line each; returns the undo. Ray has no setting for these
    (``log_to_driver`` covers worker output only), so this wraps its printer where it exists."""
    import ray._private.worker as ray_worker

    printer = getattr(ray_worker, "print_to_stdstream", None)
    if printer is None:
        return None

    def shortened(data: dict, *args: Any, **kwargs: Any) -> None:
        if not isinstance(data, dict) or data.get("pid") != "raylet":
            return printer(data, *args, **kwargs)
        for line in data.get("lines") or []:
            first = str(line).split(" Error:")[0].split(". ")[:2]
            report(f"ray: note: {'. '.join(first).strip()[:200]}")

    ray_worker.print_to_stdstream = shortened

    def restore() -> None:
        ray_worker.print_to_stdstream = printer

    return restore


def _get(ray: Any, ref: Any, i: int) -> Any:
    """A task's result; a worker's grokkit error is re-raised as itself (one line), a lost worker as a RunError."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, GrokkitError):
            raise exc.cause from None
        missing = exc.cause if isinstance(exc.cause, ImportError) else None
        if missing is not None or "No module named" in str(exc):
            what = str(missing) if missing is not None else "No module named" + str(exc).split("No module named")[1].splitlines()[0]
            raise RunError(f"ray: a worker (ip {getattr(exc, 'ip', '?')}) cannot import grokkit's code ({what[:120]}); "
                           "install the same grokkit on every node") from None
        raise
    except ray.exceptions.RayError as exc:  # the worker or its node died RETRIES + 1 times
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise RunError(f"ray: unit {i + 1} was lost ({type(exc).__name__}: {first}); "
                       "finished runs are kept: run the sweep command again") from None
