"""Run ``ovcf-viewer`` commands in their own processes, fast: children are forked from a
server that has already imported the program (multiprocessing's forkserver), so each run
costs a fork, not an interpreter start. Each child has its own environment, an address-space
limit and a timeout; a run that hangs is killed and reported as such."""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import ovcf_viewer.cli  # noqa: F401 - preloaded in the fork server
from ovcf_viewer.cli.commands import COMMAND_MODULES

for _name in COMMAND_MODULES:
    __import__(f"ovcf_viewer.cli.commands.{_name}")

#: Address space a command may add to the fork server's (MiB).
RLIMIT_MB = 1024


@dataclass(frozen=True)
class Outcome:
    returncode: int | None  # None: killed after the timeout
    stdout: str
    stderr: str


def _child(argv: list[str], env: dict[str, str], out: str, err: str) -> None:
    os.environ.update(env)
    for fd, name in ((1, out), (2, err)):
        handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(handle, fd)
        os.close(handle)
    with open("/proc/self/status") as status:
        vm = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    limit = vm * 1024 + RLIMIT_MB * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    code = 1
    try:
        from ovcf_viewer.cli import main

        code = int(main(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (1 if exc.code else 0)
    except BaseException:  # noqa: B036 - the test reports whatever escaped
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


_CONTEXT = None


def _context():
    global _CONTEXT
    if _CONTEXT is None:
        # One BLAS thread: forked children must not inherit a half-copied thread pool.
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, "1")
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload([__name__])
    return _CONTEXT


def run_cli(argv: list[str], home: Path, *, timeout: float = 10.0,
            make_home: bool = True) -> Outcome:
    """Run ``ovcf-viewer ARGV`` with ``OVCF_VIEWER_HOME=home``; stdout, stderr and status
    (captured beside ``home``). ``make_home=False`` leaves ``home`` as the caller made it."""
    if make_home:
        home.mkdir(parents=True, exist_ok=True)
    out, err = home.parent / f"{home.name}.stdout.txt", home.parent / f"{home.name}.stderr.txt"
    env = {"OVCF_VIEWER_HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
           "RUST_BACKTRACE": "0"}
    process = _context().Process(target=_child, args=(argv, env, str(out), str(err)))
    process.start()
    process.join(timeout)
    code: int | None = process.exitcode
    if process.is_alive():
        process.kill()
        process.join()
        code = None
    return Outcome(code, out.read_text(errors="replace") if out.exists() else "",
                   err.read_text(errors="replace") if err.exists() else "")
