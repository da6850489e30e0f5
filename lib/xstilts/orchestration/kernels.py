"""One Jupyter kernel kept for consecutive stages of the same notebook (local executor).

Why: a stage spends about 10 s on a 2-core CPU before its first useful line: starting a kernel
(4-5 s) and importing torch, transformers, pandas and matplotlib in it (5-7 s), 43 times in the
default study. A stage worker that runs several stages of one notebook runs them in one kernel.
Between two stages `fresh_session` brings it back to a new session: every variable gone (IPython's
reset, execution counts from 1 again), every xstilts cache cleared, figures closed, freed memory
handed back to the OS (and to the GPU). What the next stage inherits is the imported modules; each
stage seeds every RNG itself (`xstilts.seeding`), so its numbers are those of a new kernel
(tested). A failed stage ends its kernel: the next stage gets a new one.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import sys
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

FRESH_SESSION = "import xstilts.orchestration.kernels as _k; _k.fresh_session(get_ipython())"
RESET_TIMEOUT_S = 120


def fresh_session(shell: Any) -> None:
    """Run inside the kernel: forget what the last stage left, except imported modules."""
    shell.reset(new_session=True)
    for name, module in list(sys.modules.items()):
        if name == "xstilts" or name.startswith("xstilts."):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():  # the allocator's cache back to the GPU
        torch.cuda.empty_cache()
    if sys.platform.startswith("linux"):  # hand freed heap pages back (glibc keeps them otherwise)
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except OSError:
            pass


class KeptKernelManager(AsyncKernelManager):
    """Remembers the clients opened on it: papermill closes a client's channels (and the heartbeat
    thread each one starts) only on kernels it started itself."""

    def client(self, **kwargs: Any) -> Any:
        kc = super().client(**kwargs)
        self.__dict__.setdefault("_opened", []).append(kc)
        return kc

    def close_clients(self) -> None:
        for kc in self.__dict__.pop("_opened", []):
            kc.stop_channels()


async def _execute(km: KeptKernelManager, code: str) -> None:
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=RESET_TIMEOUT_S)
        msg_id = kc.execute(code, silent=True, store_history=False)
        while True:
            reply = await kc.get_shell_msg(timeout=RESET_TIMEOUT_S)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
    finally:
        km.close_clients()
    if reply["content"]["status"] != "ok":
        content = reply["content"]
        raise RuntimeError(f"kernel reset failed: {content.get('ename')}: {content.get('evalue')}")


def _loop() -> asyncio.AbstractEventLoop:
    from jupyter_core.utils import ensure_event_loop

    return ensure_event_loop()  # the loop nbclient's sync wrappers use in this thread


class KeptKernel:
    """The kernel of one stage worker: started by papermill for a stage, kept for the next stage of
    the same notebook and kernel name, replaced for any other, ended after a failure."""

    def __init__(self) -> None:
        self.km: KeptKernelManager | None = None
        self.key: tuple[str, str] | None = None
        self.stages = 0  # stages run in the current kernel
        self.in_stage = False

    def manager_for(self, notebook: str, kernel_name: str) -> KeptKernelManager:
        """The kernel manager to hand papermill for the next stage (no kernel yet: papermill
        starts one)."""
        key = (str(Path(notebook).resolve()), kernel_name)
        if self.km is not None and (key != self.key or not self._alive()):
            self.shutdown()
        if self.km is not None:
            try:
                _loop().run_until_complete(_execute(self.km, FRESH_SESSION))
            except Exception:  # noqa: BLE001 - a kernel that cannot be reset is replaced
                self.shutdown()
        if self.km is None:
            self.km, self.key, self.stages = KeptKernelManager(kernel_name=kernel_name), key, 0
        self._reset_peak_rss()
        self.in_stage = True
        return self.km

    def finished(self, ok: bool) -> dict[str, Any] | None:
        """Close the stage's clients; what provenance records of the kernel's part in the stage
        (None when no kernel was asked for: the stage failed before it)."""
        if not self.in_stage:
            return None
        self.in_stage = False
        record: dict[str, Any] = {"reused": self.stages > 0, "stages_before": self.stages}
        if self.km is not None:
            self.km.close_clients()
            record["peak_rss_mb"] = self._peak_rss_mb()
        self.stages += 1
        if not ok:
            self.shutdown()
        return record

    def shutdown(self) -> None:
        if self.km is not None:
            km, self.km, self.key = self.km, None, None
            km.close_clients()
            try:
                if self._alive(km):
                    _loop().run_until_complete(km.shutdown_kernel(now=False))
            finally:
                _loop().run_until_complete(km.cleanup_resources())

    def _alive(self, km: KeptKernelManager | None = None) -> bool:
        km = km or self.km
        return bool(km and km.has_kernel and _loop().run_until_complete(km.is_alive()))

    def _pid(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        return getattr(provisioner, "pid", None) if provisioner else None

    def _reset_peak_rss(self) -> None:
        """Linux keeps a process's peak RSS (VmHWM) until "5" is written to its clear_refs."""
        pid = self._pid()
        if pid:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                pass

    def _peak_rss_mb(self) -> float | None:
        pid = self._pid()
        try:
            status = Path(f"/proc/{pid}/status").read_text() if pid else ""
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        return None
