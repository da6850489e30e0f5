"""Executors: run a set of stage runs respecting their dependencies.

``LocalExecutor``: up to ``jobs`` stages at once, each job slot a ``python -m
xstilts.orchestration.worker --serve`` process that runs its stages one after another, consecutive
stages of one notebook in one kernel (``kernels.py``); with ``fresh_kernels``, a new worker process
and kernel per stage. Threads only launch and wait. ``SubmititExecutor``: one submitit job per
stage, layer by layer (a Slurm job array per layer and resource set), on Slurm or submitit's local
backend.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from .grid import StageRun
from .integrity import DONE_FILE, FAILED_FILE

# prepare(run) -> the stage spec path;  finished(run, ok) is called once per run
Prepare = Callable[[StageRun], Path]
Finished = Callable[[StageRun, bool], None]


def _schedule(
    pending: list[StageRun],
    start: Callable[[StageRun], Future],
    finished: Finished,
) -> dict[str, str]:
    """Start runs whose inputs are all satisfied; block the dependants of failed runs."""
    ids = {r.id for r in pending}
    state: dict[str, str] = {}
    running: dict[Future, StageRun] = {}
    todo = list(pending)
    while todo or running:
        for run in list(todo):
            inputs = [i for i in run.inputs if i in ids]
            if any(state.get(i) in ("failed", "blocked") for i in inputs):
                state[run.id] = "blocked"
                todo.remove(run)
                finished(run, False)
            elif all(state.get(i) == "done" for i in inputs):
                todo.remove(run)
                running[start(run)] = run
        if not running:
            if todo:  # unreachable inputs: mark the rest blocked rather than spin
                for run in todo:
                    state[run.id] = "blocked"
                    finished(run, False)
                todo.clear()
            break
        done, _ = wait(list(running), return_when=FIRST_COMPLETED)
        for fut in done:
            run = running.pop(fut)
            try:
                ok = bool(fut.result())
            except Exception:  # noqa: BLE001 - a launch failure is a stage failure
                ok = False
            state[run.id] = "done" if ok else "failed"
            finished(run, ok)
    return state


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def stage_environment(jobs: int) -> dict[str, str]:
    """The environment of a stage run alongside ``jobs - 1`` others: the machine's cores shared
    out (torch would otherwise give every stage all of them, and ``jobs`` stages would contend
    for each core). Thread counts the user set are kept; one job keeps torch's own default."""
    env = dict(os.environ)
    if jobs > 1:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        for name in THREAD_VARIABLES:
            env.setdefault(name, str(max(1, (cores or 1) // jobs)))
    return env


class StageWorker:
    """A ``python -m xstilts.orchestration.worker --serve`` process, one job slot of the local
    executor: stage spec paths go in on its stdin, it answers on a pipe of its own, and its output
    and its kernels' (nothing of a stage's own, which goes to the stage's ``stage.log``) goes to
    ``log``."""

    def __init__(self, env: dict[str, str], log: Path):
        log.parent.mkdir(parents=True, exist_ok=True)
        read_fd, write_fd = os.pipe()
        with open(log, "a", encoding="utf-8") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "xstilts.orchestration.worker", "--serve", str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                env=env,
                text=True,
            )
        os.close(write_fd)
        self.replies = os.fdopen(read_fd, encoding="utf-8")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, spec_path: Path) -> bool:
        """Run one stage; True when the worker reports it done (False also when the worker ends
        mid-stage: killed, out of memory)."""
        from .worker import FINISHED

        try:
            self.proc.stdin.write(f"{spec_path}\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            return False
        for line in self.replies:
            if line.startswith(FINISHED):
                return line.split()[1] == "ok" and (spec_path.parent / DONE_FILE).exists()
        return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # type: ignore[union-attr]  # end of input: the worker exits
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.replies.close()


class LocalExecutor:
    name = "local"

    def __init__(self, jobs: int, log_dir: Path, fresh_kernels: bool = False):
        """``log_dir``: where the stage workers' own output goes (``worker-N.log``)."""
        self.jobs = max(1, jobs)
        self.env = stage_environment(self.jobs)
        self.log_dir, self.fresh_kernels = Path(log_dir), fresh_kernels
        self._slot = threading.local()
        self._workers: list[StageWorker] = []
        self._lock = threading.Lock()

    def launch(self, spec_path: Path) -> bool:
        """One stage in a new worker process (and so a new kernel)."""
        log = spec_path.parent / "stage.log"
        with open(log, "w", encoding="utf-8") as fh:
            proc = subprocess.run(
                [sys.executable, "-m", "xstilts.orchestration.worker", str(spec_path)],
                stdout=fh,
                stderr=subprocess.STDOUT,
                check=False,
                env=self.env,
            )
        return proc.returncode == 0 and (spec_path.parent / DONE_FILE).exists()

    def _worker(self) -> StageWorker:
        """This thread's stage worker (a new one if it has none, or its worker ended)."""
        worker = getattr(self._slot, "worker", None)
        if worker is None or not worker.alive:
            if worker is not None:
                worker.close()
            with self._lock:
                log = self.log_dir / f"worker-{len(self._workers) + 1}.log"
                worker = StageWorker(self.env, log)
                self._workers.append(worker)
            self._slot.worker = worker
        return worker

    def _launch_kept(self, spec_path: Path) -> bool:
        return self._worker().run(spec_path)

    def run(self, pending: list[StageRun], prepare: Prepare, finished: Finished) -> dict[str, str]:
        launch = self.launch if self.fresh_kernels else self._launch_kept
        try:
            with ThreadPoolExecutor(max_workers=self.jobs) as pool:
                return _schedule(pending, lambda r: pool.submit(launch, prepare(r)), finished)
        finally:
            for worker in self._workers:
                worker.close()
            self._workers.clear()


def _mem_gb(mem: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)B?", mem.strip(), re.I)
    if not m:
        raise ValueError(f"memory {mem!r} is not like 16G")
    scale = {"": 1 / 1024, "K": 1 / 2**20, "M": 1 / 1024, "G": 1, "T": 1024}[m.group(2).upper()]
    return max(1, int(round(float(m.group(1)) * scale)))


def _minutes(time: str) -> int:
    days, _, rest = time.rpartition("-")
    parts = [int(p) for p in rest.split(":")]
    h, m, s = (parts + [0])[:3] if len(parts) == 2 else parts
    return int(days or 0) * 1440 + h * 60 + m + (1 if s else 0)


def submitit_parameters(
    resources: dict[str, Any], cluster: str, setup: tuple[str, ...] = ()
) -> dict[str, Any]:
    """submitit ``update_parameters`` arguments for one stage's resources (``setup``: the study's
    ``executor.setup`` lines, run in the Slurm job before the stage)."""
    params: dict[str, Any] = {
        "timeout_min": _minutes(resources["time"]),
        "cpus_per_task": resources["cpus"],
        "mem_gb": _mem_gb(resources["mem"]),
        "nodes": 1,
        "tasks_per_node": 1,
    }
    if resources.get("gpus"):
        params["gpus_per_node"] = resources["gpus"]
    if cluster == "slurm":
        for key in ("partition", "account", "qos", "constraint"):
            if resources.get(key):
                params[f"slurm_{key}"] = resources[key]
        if setup:
            params["slurm_setup"] = list(setup)
    return params


try:
    from submitit.helpers import Checkpointable as _Checkpointable
except ImportError:  # pragma: no cover - submitit is a dependency
    _Checkpointable = object  # type: ignore[assignment,misc]


class StageJob(_Checkpointable):
    """A submitit job running one stage. Preempted or timed out, it requeues itself; training stages
    then resume from the checkpoints left in their run directory."""

    def __call__(self, spec_path: str) -> bool:
        from .worker import configure_logging, execute_stage

        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        # the stage's output, logging included, into its stage.log as it comes (tail -f), as
        # with the local executor; appended, so a requeued attempt follows the one it resumes
        with open(Path(spec_path).parent / "stage.log", "a", encoding="utf-8") as log:
            configure_logging(stream=log)
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                ok = execute_stage(spec_path)
        if not ok:
            if stopping.is_set():
                _wait_for_the_kill()
            failed = Path(spec_path).parent / FAILED_FILE
            raise RuntimeError(f"stage failed: {failed.read_text(encoding='utf-8')[:2000]}")
        return True


def _wait_for_the_kill() -> None:
    """Slurm is stopping this job (``scontrol requeue``, preemption, ``scancel``): it signals
    every process of the job, so the stage's kernel died of the same SIGTERM. That is no stage
    failure to report: wait for the SIGKILL that follows. A requeued job then starts again and
    its stage resumes from the run's checkpoints; a cancelled one is seen gone by ``_await``."""
    while True:
        time.sleep(1)


# Slurm states after which a job will never deliver a result (a requeued job is PENDING again).
_DEAD = {"CANCELLED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE"}


def _slurm_state(job_id: str) -> str:
    proc = subprocess.run(
        ["squeue", "-h", "-j", str(job_id), "-o", "%T"], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip().split("\n")[0].split(" ")[0] if proc.returncode == 0 else ""


def _await(job: Any, cluster: str, poll_s: float = 3.0, grace_s: float = 30.0) -> bool:
    """Wait for a submitit job. Without Slurm accounting, submitit never sees a job that Slurm
    killed (cancelled, out of memory, node lost) as done, so also watch ``squeue``: a job dead or
    gone from the queue for ``grace_s`` without a result counts as failed."""
    gone_since = None
    while cluster == "slurm" and not job.done():
        state = _slurm_state(job.job_id)
        if state in _DEAD or not state:
            gone_since = gone_since or time.monotonic()
            if time.monotonic() - gone_since > grace_s:
                return False
        else:
            gone_since = None
        time.sleep(poll_s)
    try:
        return bool(job.result())
    except Exception:  # noqa: BLE001 - recorded in the run's FAILED file
        return False


class SubmititExecutor:
    def __init__(self, cluster: str, folder: Path, jobs: int = 1, setup: tuple[str, ...] = ()):
        if cluster not in ("slurm", "local"):
            raise ValueError(f"submitit cluster must be slurm or local, not {cluster!r}")
        self.cluster, self.folder, self.jobs, self.setup = cluster, Path(folder), jobs, setup
        self.name = "slurm" if cluster == "slurm" else "submitit-local"

    def run(self, pending: list[StageRun], prepare: Prepare, finished: Finished) -> dict[str, str]:
        import submitit

        executor = submitit.AutoExecutor(folder=str(self.folder / "%j"), cluster=self.cluster)
        ids = {r.id for r in pending}
        depth: dict[str, int] = {}
        for run in pending:  # dependency order
            depth[run.id] = 1 + max((depth[i] for i in run.inputs if i in ids), default=-1)
        state: dict[str, str] = {}
        for level in range(max(depth.values(), default=-1) + 1):
            layer = []
            for run in (r for r in pending if depth[r.id] == level):
                if any(state.get(i) in ("failed", "blocked") for i in run.inputs):
                    state[run.id] = "blocked"
                    finished(run, False)
                else:
                    layer.append(run)
            groups: dict[tuple, list[StageRun]] = {}
            for run in layer:
                groups.setdefault(tuple(sorted(run.resources.items(), key=str)), []).append(run)
            jobs: list[tuple[StageRun, Any]] = []
            for runs in groups.values():
                executor.update_parameters(
                    name=f"xstilts-{runs[0].stage}",
                    **submitit_parameters(runs[0].resources, self.cluster, self.setup),
                )
                if self.cluster == "slurm":
                    executor.update_parameters(slurm_array_parallelism=max(self.jobs, len(runs)))
                batch = (
                    executor.batch()
                    if self.cluster == "slurm" and len(runs) > 1
                    else contextlib.nullcontext()
                )
                submitted = []
                with batch:
                    for run in runs:
                        submitted.append((run, executor.submit(StageJob(), str(prepare(run)))))
                jobs += submitted
            for run, job in jobs:
                ok = _await(job, self.cluster)
                state[run.id] = "done" if ok else "failed"
                finished(run, ok)
        return state
