"""Browser-test plumbing: `coverscope serve` in a subprocess, and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import missing_component, require_module
from tests.helpers import CLI

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """Debian's Chromium (never a browser downloaded by Playwright), or a skip (a failure in CI)."""
    path = os.environ.get("COVERSCOPE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        missing_component("Chromium (apt-get install chromium)")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(
    database_url: str | None,
    *,
    args: tuple[str, ...] = ("serve",),
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    ready_timeout: float = 120.0,
) -> Iterator[str]:
    """Run `coverscope serve` (or `args`) on `database_url` until the block ends; yields the base URL.

    With `database_url=None` the command uses its default, the embedded store in `cwd`.
    """
    port = free_port()
    full_env = {**os.environ, **(env or {})}
    full_env.pop("COVERSCOPE_DATABASE_URL", None)
    if database_url is not None:
        full_env["COVERSCOPE_DATABASE_URL"] = database_url
    proc = subprocess.Popen(
        [*CLI, *args, "--host", "127.0.0.1", "--port", str(port)],
        env=full_env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"coverscope {' '.join(args)} exited {proc.returncode}:\n{proc.stdout.read()}"
                )
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"coverscope {' '.join(args)} did not answer within {ready_timeout:.0f} s"
                )
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium (Playwright `Browser`) for the duration of the block."""
    require_module("playwright", "playwright (pip install playwright; the browser is Debian's chromium)")
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def watch_console(page) -> list[str]:
    """Collect the page's console errors and uncaught exceptions into the returned list."""
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors
