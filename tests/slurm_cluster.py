"""A real one-node Slurm cluster (munged + slurmctld + slurmd) in a private folder.

Used by `tests/test_slurm.py` (as a pytest fixture) and by `scripts/slurm_local.sh` (for humans:
`python tests/slurm_cluster.py up|down|status DIR`). Installing Slurm is not done here
(`scripts/install_system_deps.sh` does that): if the binaries are missing, we are not root, or the
daemons do not come up, `SlurmUnavailable` says why and the tests skip with that reason.

Isolation: munged runs with its own key and socket in the folder, Slurm uses free ports picked at
start, every path in `slurm.conf` points into the folder; daemons are stopped by the pids in their
pid files (checked against /proc/<pid>/comm), never by name.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun", "munge", "mungekey")
PARTITION = "debug"


class SlurmUnavailable(RuntimeError):
    """Slurm cannot run here; the message is the reason (used as the pytest skip reason)."""


@dataclass(frozen=True)
class SlurmCluster:
    root: Path
    conf: Path
    node: str
    cpus: int
    mem_mib: int
    partition: str = PARTITION
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a Slurm client command against this cluster (raises on non-zero exit)."""
        return subprocess.run(
            list(args), env=self.env, capture_output=True, text=True, timeout=timeout, check=True
        )


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/local/sbin")


def unavailable_reason() -> str | None:
    """Why a local cluster cannot be started here, or None if it can be tried."""
    missing = [n for n in DAEMONS + CLIENTS if _which(n) is None]
    if missing:
        return f"Slurm/munge not installed (missing {', '.join(missing)}); run scripts/install_system_deps.sh"
    if os.geteuid() != 0:
        return "a local Slurm cluster needs root (slurmd launches jobs as SlurmdUser=root)"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_resources() -> tuple[str, int, int]:
    """(short hostname, CPUs, RealMemory MiB = ~80% of physical memory)."""
    node = socket.gethostname().split(".")[0]
    mem_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return node, os.cpu_count() or 1, max(256, mem_mib * 8 // 10)


def write_slurm_conf(root: Path, node: str, cpus: int, mem_mib: int) -> Path:
    """Write a one-node `slurm.conf` with every path under `root` and free ports."""
    ctld_port, d_port = free_port(), free_port()
    while d_port == ctld_port:
        d_port = free_port()
    lines = [
        "ClusterName=xstilts",
        f"SlurmctldHost={node}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={root / 'munge-run' / 'munge.socket'}",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        # No slurmdbd: `sacct` answers "accounting storage is disabled" (see test_slurm.py).
        "AccountingStorageType=accounting_storage/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "SchedulerType=sched/backfill",
        "ReturnToService=2",
        "MpiDefault=none",
        "MailProg=/bin/true",
        "MinJobAge=600",  # keep finished jobs visible to `scontrol show job` for 10 min
        f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={d_port}",
        f"NodeName={node} CPUs={cpus} RealMemory={mem_mib} State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP",
    ]
    conf = root / "slurm.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


def _tail(path: Path, n: int = 15) -> str:
    if not path.exists():
        return f"[{path.name}: missing]"
    return f"[{path.name}] " + " | ".join(path.read_text(errors="replace").splitlines()[-n:])


def _logs(root: Path) -> str:
    return "\n".join(_tail(root / "log" / f"{d}.log") for d in ("slurmctld", "slurmd", "munged"))


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, name: str) -> bool:
    """True if `pid` runs and is the daemon `name` (guards against reused pids)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    comm, _, rest = stat.partition("(")[2].rpartition(")")
    return comm == name[:15] and rest.split()[:1] != ["Z"]  # a zombie has already exited


def _pid_files(root: Path) -> dict[str, Path]:
    return {
        "slurmd": root / "slurmd.pid",
        "slurmctld": root / "slurmctld.pid",
        "munged": root / "munge-run" / "munged.pid",
    }


def _run_checked(cmd: list[str], root: Path, what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise SlurmUnavailable(
            f"{what} failed (exit {proc.returncode}): {proc.stderr.strip()}\n{_logs(root)}"
        )


def _wait_for(pid_file: Path, name: str, root: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = _read_pid(pid_file)
        if pid is not None and _alive(pid, name):
            return
        time.sleep(0.1)
    raise SlurmUnavailable(f"{name} did not start within {timeout:.0f}s\n{_logs(root)}")


def start(root: Path, timeout_s: float = 30) -> SlurmCluster:
    """Start munged, slurmctld and slurmd under `root`; return once the node is idle."""
    reason = unavailable_reason()
    if reason:
        raise SlurmUnavailable(reason)
    root = root.resolve()
    for sub in ("state", "spool", "log", "munge-key", "munge-run"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "munge-key").chmod(0o700)
    (root / "munge-run").chmod(0o755)
    node, cpus, mem_mib = node_resources()
    try:
        return _start(root, node, cpus, mem_mib, timeout_s)
    except BaseException:
        stop(root)
        raise


def _start(root: Path, node: str, cpus: int, mem_mib: int, timeout_s: float) -> SlurmCluster:
    key = root / "munge-key" / "munge.key"
    if not key.exists():
        _run_checked([_which("mungekey") or "mungekey", "-c", "-k", str(key)], root, "mungekey")
    run_dir = root / "munge-run"
    _run_checked(
        [
            _which("munged") or "munged",
            "--force",  # as root, with a key and socket outside /etc/munge and /run/munge
            f"--socket={run_dir / 'munge.socket'}",
            f"--key-file={key}",
            f"--pid-file={run_dir / 'munged.pid'}",
            f"--log-file={root / 'log' / 'munged.log'}",
            f"--seed-file={root / 'munge-key' / 'munged.seed'}",
        ],
        root,
        "munged",
    )
    _wait_for(run_dir / "munged.pid", "munged", root, 10)

    conf = write_slurm_conf(root, node, cpus, mem_mib)
    env = {**os.environ, "SLURM_CONF": str(conf)}
    _run_checked([_which("slurmctld") or "slurmctld", "-c", "-f", str(conf)], root, "slurmctld")
    _wait_for(root / "slurmctld.pid", "slurmctld", root, 10)
    _run_checked([_which("slurmd") or "slurmd", "-f", str(conf)], root, "slurmd")
    _wait_for(root / "slurmd.pid", "slurmd", root, 10)

    cluster = SlurmCluster(root=root, conf=conf, node=node, cpus=cpus, mem_mib=mem_mib, env=env)
    deadline = time.monotonic() + timeout_s
    state = ""
    while time.monotonic() < deadline:
        proc = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%T"], env=env, capture_output=True, text=True, timeout=10
        )
        state = proc.stdout.strip() or proc.stderr.strip()
        if state in ("idle", "mixed"):
            return cluster
        time.sleep(0.25)
    raise SlurmUnavailable(
        f"node not idle after {timeout_s:.0f}s (sinfo: {state!r})\n{_logs(root)}"
    )


def _cancel_jobs(env: dict[str, str], timeout_s: float = 10) -> None:
    """Best effort: cancel every job of this cluster and wait until the queue is empty."""
    deadline = time.monotonic() + timeout_s
    try:
        subprocess.run(["scancel", "--me"], env=env, capture_output=True, timeout=5)
        while time.monotonic() < deadline:
            q = subprocess.run(
                ["squeue", "-h", "-o", "%i"], env=env, capture_output=True, text=True, timeout=5
            )
            if q.returncode != 0 or not q.stdout.strip():
                return
            time.sleep(0.25)
    except (OSError, subprocess.TimeoutExpired):
        return  # controller unreachable: the daemons are stopped by pid next


def stop(root: Path, timeout_s: float = 15) -> None:
    """Cancel this cluster's jobs, then stop its daemons by the pids in their pid files."""
    root = root.resolve()
    conf = root / "slurm.conf"
    ctld = _read_pid(root / "slurmctld.pid")
    if conf.exists() and ctld is not None and _alive(ctld, "slurmctld"):
        _cancel_jobs({**os.environ, "SLURM_CONF": str(conf)})
    for name, pid_file in _pid_files(root).items():  # slurmd, slurmctld, then munged
        pid = _read_pid(pid_file)
        if pid is None or not _alive(pid, name):
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(pid, name) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid, name):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def local_slurm_cluster(root: Path, timeout_s: float = 30) -> Iterator[SlurmCluster]:
    """Context manager: a running one-node cluster under `root`, always stopped afterwards."""
    cluster = start(root, timeout_s)
    try:
        yield cluster
    finally:
        stop(root)


def status(root: Path) -> dict[str, int | None]:
    """Pid of each daemon of the cluster under `root` that is running (else None)."""
    out: dict[str, int | None] = {}
    for name, pid_file in _pid_files(root.resolve()).items():
        pid = _read_pid(pid_file)
        out[name] = pid if pid is not None and _alive(pid, name) else None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A local one-node Slurm cluster in DIR.")
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    if args.action == "up":
        if any(status(args.dir).values()):
            print(f"already running in {args.dir}: {status(args.dir)}", file=sys.stderr)
            print(f"export SLURM_CONF={args.dir.resolve() / 'slurm.conf'}")
            return 0
        try:
            cluster = start(args.dir)
        except SlurmUnavailable as exc:
            print(f"cannot start Slurm: {exc}", file=sys.stderr)
            return 1
        print(
            f"node {cluster.node} idle ({cluster.cpus} CPUs, {cluster.mem_mib} MiB)",
            file=sys.stderr,
        )
        print(f"export SLURM_CONF={cluster.conf}")
    elif args.action == "down":
        stop(args.dir)
        print(f"stopped: {status(args.dir)}", file=sys.stderr)
    else:
        print(status(args.dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
