"""Run a stage: papermill-execute its notebook into its run directory, then write
``provenance.json`` and, last and atomically, ``DONE`` (or ``FAILED``).

Runs in a process of its own: ``python -m xstilts.orchestration.worker RUN_DIR/stage.json`` (one
stage, in a new kernel), a submitit job, or ``--serve`` (the local executor's stage worker: stage
specs in on stdin, one after another, consecutive stages of one notebook in one kernel, see
``kernels.py``). A stage holds ``RUN_DIR/.lock`` so that two runners never execute the same run at
once; a run found ``DONE`` once the lock is held is not run again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..io import read_json, write_json, write_text
from ..logs import configure as configure_logging
from . import integrity, provenance
from .integrity import DONE_FILE, FAILED_FILE
from .stageconfig import fit_config

if TYPE_CHECKING:
    from .kernels import KeptKernel

# papermill reads notebooks with nbformat, whose schema validation imports jsonschema, whose
# optional IRI format check imports rfc3987_syntax, which builds a parser at import time: 2.0 s of
# the worker's 3.4 s start-up on this machine, paid once per stage. No notebook field is checked
# as an IRI, so the worker does without that one check (jsonschema skips it when the import fails).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

ANSI = re.compile(r"\x1b\[[0-9;]*m")
KERNEL_ENV = "XSTILTS_KERNEL"


def kernel_name() -> str:
    """The ``xstilts`` kernel of THIS interpreter (else ``python3``).

    Jupyter searches the user's kernels before the venv's, so a kernel of the same name registered
    by another checkout could run other code: put this venv first and check the interpreter.
    """
    if os.environ.get(KERNEL_ENV):
        return os.environ[KERNEL_ENV]
    own = str(Path(sys.prefix) / "share" / "jupyter")
    rest = os.environ.get("JUPYTER_PATH", "")
    os.environ["JUPYTER_PATH"] = own + (os.pathsep + rest if rest else "")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec("xstilts")
    except NoSuchKernel:
        return "python3"
    same = os.path.abspath(spec.argv[0]) == os.path.abspath(sys.executable)
    return "xstilts" if same else "python3"


def _error_text(err: BaseException) -> str:
    ename, evalue = getattr(err, "ename", type(err).__name__), getattr(err, "evalue", str(err))
    tb = getattr(err, "traceback", None)
    tail = ANSI.sub("", "\n".join(tb)) if tb else "".join(traceback.format_exception(err))
    tail = "\n".join(tail.strip().splitlines()[-25:])
    return f"{ename}: {evalue}\n\n{tail}\n"


# A kernel that dies before its first reply ran no cell: it lost the race for a TCP port that
# jupyter_client picked free a moment earlier (two stages starting at once, `--jobs 2`, or
# another Jupyter on the machine). Such a start is retried; any other failure is the stage's.
KERNEL_START_FAILURE = "Kernel died before replying to kernel_info"
KERNEL_START_ATTEMPTS = 3


def _execute_notebook(
    spec: dict, run_dir: Path, parameters: dict, kernel: KeptKernel | None = None
) -> None:
    import papermill

    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        kept = {"km": kernel.manager_for(spec["notebook"], spec["kernel"])} if kernel else {}
        try:
            papermill.execute_notebook(
                spec["notebook"],
                str(run_dir / "notebook.ipynb"),
                parameters=parameters,
                kernel_name=spec["kernel"],
                progress_bar=False,
                start_timeout=300,  # a loaded 2-core machine can take over 60 s to start a kernel
                log_output=True,  # the kernel's output, logging included, into stage.log
                cwd=str(Path(spec["notebook"]).parent),
                **kept,
            )
            return
        except RuntimeError as err:
            if KERNEL_START_FAILURE not in str(err) or attempt == KERNEL_START_ATTEMPTS:
                raise
            print(f"kernel start failed ({err}); starting another (attempt {attempt + 1})")
            if kernel:
                kernel.shutdown()


def execute_stage(spec_path: str | os.PathLike, kernel: KeptKernel | None = None) -> bool:
    """Execute the stage described by ``spec_path``; True when it is DONE afterwards.
    ``kernel``: a ``kernels.KeptKernel`` to run it in (default: a new kernel of its own)."""
    spec = read_json(spec_path)
    run_dir = Path(spec["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (run_dir / DONE_FILE).exists():
            return True
        (run_dir / FAILED_FILE).unlink(missing_ok=True)
        spec["kernel"] = spec.get("kernel") or kernel_name()
        parameters = dict(spec["parameters"])
        parameters["config"] = fit_config(spec["stage"], spec["config"])[0]
        started, t0 = provenance.now_iso(), time.perf_counter()
        error = integrity.verify_inputs(spec.get("inputs", []))  # before any compute
        try:
            if error:
                raise RuntimeError(f"input verification failed:\n{error}")
            _execute_notebook(spec, run_dir, parameters, kernel)
        except Exception as err:  # noqa: BLE001 - any failure is recorded, then reported
            error = _error_text(err)
        wall = time.perf_counter() - t0
        status = "failed" if error else "done"
        kept = kernel.finished(ok=not error) if kernel else None
        prov = provenance.collect(spec, started, provenance.now_iso(), wall, status, error, kept)
        write_json(run_dir / "provenance.json", prov)
        if error:
            write_text(run_dir / FAILED_FILE, error)
            return False
        train = spec["config"].get("train") or {}
        if not (spec["config"].get("keep_checkpoints") or train.get("keep_checkpoints")):
            prune_checkpoints(run_dir)  # before the record: DONE lists what stays
        record = integrity.done_record(run_dir, spec.get("inputs", []))
        write_json(
            run_dir / DONE_FILE,
            {"run": spec["id"], "ended": prov["ended"], "wall_s": prov["wall_s"], **record},
        )
        return True


def prune_checkpoints(run_dir: Path) -> None:
    """A finished stage is never resumed, so its resumable training state goes (hundreds of MB
    per run for the small model, about 9 GB for XLM-R large); the kept encoder, predictions and
    metrics stay. ``keep_checkpoints: true`` (a training setting) keeps it."""
    import shutil

    folder = run_dir / "checkpoints"
    if folder.is_dir():
        shutil.rmtree(folder)


FINISHED = "xstilts-stage-finished"  # the reply of --serve, one line per stage spec read


def serve(specs: Any, replies: Any) -> int:
    """Execute the stage spec paths read one per line from ``specs``, in order, until end of input;
    after each, write ``FINISHED ok|failed PATH`` to ``replies``. Each stage's own output goes to
    its ``stage.log``."""
    from .kernels import KeptKernel

    kernel = KeptKernel()
    try:
        for line in specs:
            spec_path = line.strip()
            if not spec_path:
                continue
            with open(Path(spec_path).parent / "stage.log", "w", encoding="utf-8") as log:
                configure_logging(stream=log)  # a line per message, as it comes: tail -f
                with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                    try:
                        ok = execute_stage(spec_path, kernel)
                    except Exception:  # noqa: BLE001 - the stage failed; the worker goes on
                        traceback.print_exc()
                        kernel.shutdown()
                        ok = False
            replies.write(f"{FINISHED} {'ok' if ok else 'failed'} {spec_path}\n")
            replies.flush()
    finally:
        kernel.shutdown()
    return 0


USAGE = "usage: python -m xstilts.orchestration.worker RUN_DIR/stage.json | --serve REPLY_FD"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--serve" and args[1].isdigit():
        with os.fdopen(int(args[1]), "w", encoding="utf-8") as replies:
            return serve(sys.stdin, replies)
    if len(args) != 1 or args[0].startswith("-"):
        print(USAGE, file=sys.stderr)
        return 2
    configure_logging()
    return 0 if execute_stage(args[0]) else 1


if __name__ == "__main__":
    sys.exit(main())
