"""Measuring a whole command: wall seconds, CPU seconds and peak RSS of its process tree.

Every benchmark measurement runs in its own child process, timed by wall clock, with its peak
RSS taken from the kernel (``os.wait4``: the largest resident size of the process and the
children it waited for) and from sampling the process tree's total RSS in /proc every 0.1 s;
the larger one is reported.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
RSS_SAMPLE_SECONDS = 0.1
MB = 1024 * 1024


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _children(pid: int) -> list[int]:
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def tree_rss_bytes(pid: int) -> int:
    """Resident bytes of a process and all its descendants, from /proc (0 once it is gone)."""
    total, stack, page = 0, [pid], os.sysconf("SC_PAGE_SIZE")
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        stack.extend(_children(current))
    return total


class _RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        # The launcher's own few MB are left out: only the measured command's tree counts.
        while not self._done.wait(RSS_SAMPLE_SECONDS):
            self.peak = max(self.peak, sum(tree_rss_bytes(child) for child in _children(self.pid)))

    def stop(self) -> None:
        self._done.set()
        self.join()


# Runs the measured command as its child and reports that child's rusage. The launcher is a
# small process: a child's peak RSS counts the memory of the process it was forked from (Linux
# carries the pre-exec high-water mark over), so forking straight from this one, with Beam
# imported, would add its ~200 MB to every figure.
_LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"maxrss_kb": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}, out)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measure(cmd: Sequence[str], log_path: pathlib.Path, env: dict | None = None) -> dict[str, Any]:
    """Runs ``cmd`` to its end: wall seconds, CPU seconds, peak RSS (MB), exit code."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    usage_path = log_path.with_suffix(".rusage")
    launcher = [sys.executable, "-S", "-c", _LAUNCHER, str(usage_path)]
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*launcher, *cmd], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=environment
        )
        sampler = _RssSampler(proc.pid)
        sampler.start()
        proc.wait()
        wall = time.perf_counter() - started
        sampler.stop()
    if proc.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{tail}")
    usage = read_json(usage_path)
    kernel_peak = usage["maxrss_kb"] / 1024
    return {
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(usage["cpu"], 3),
        "peak_rss_mb": round(max(kernel_peak, sampler.peak / MB), 1),
        "kernel_max_rss_mb": round(kernel_peak, 1),
        "sampled_tree_rss_mb": round(sampler.peak / MB, 1),
        "log": str(log_path),
    }


def read_json(path: pathlib.Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def machine() -> dict[str, Any]:
    import apache_beam
    import pyarrow
    import trafilatura

    cpu = "unknown"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_mb": memory,
        "python": platform.python_version(),
        "beam": apache_beam.__version__,
        "trafilatura": trafilatura.__version__,
        "pyarrow": pyarrow.__version__,
        "platform": platform.platform(),
    }


def worker_cmd(kind: str, *args: str | os.PathLike) -> list[str]:
    """The command that runs one ``benchmarks/workers.py`` measurement in its own process."""
    return [sys.executable, str(HERE / "workers.py"), kind, *map(str, args)]


def newsflow_cmd() -> list[str]:
    script = pathlib.Path(sys.executable).with_name("newsflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipeline"]
