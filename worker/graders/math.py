"""The math grader: extract each solution's final answer, check it against the gold answer with math-verify.

math-verify's own timeouts use SIGALRM, which fails outside the main thread and cannot interrupt sympy
while it is inside C code, so verification runs in a persistent pool of worker processes (spawn context)
with math-verify's timeouts off: a sample that runs past `timeout_s` gets the verdict "timeout" and its
process is killed and replaced; the other samples of the batch are graded on. Verdicts are cached per
(gold answer, normalised answer) in an LRU shared by every batch the grader grades.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import multiprocessing
import os
import re
import signal
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing.connection import Connection, wait
from typing import Any, NamedTuple

from worker.graders.answers import extract_answer, is_plain_number, normalise_answer
from worker.types import Grade, TaskProblem

# How long a fresh worker process may take to import math-verify and say it is ready.
STARTUP_TIMEOUT_S = 120.0
# Worker starts that may fail in a row before the pool gives up (a broken install, not a bad sample).
MAX_FAILED_STARTS = 3
# A number with an optional currency sign or percent, then words: "18 dollars", "$5 billion", "52 WPM".
_NUMBER_WITH_UNIT = re.compile(
    r"\$?\s*(?P<number>[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+)\s*(?P<percent>%?)"
    r"(?:\s*(?P<unit>[A-Za-z]{2,}[A-Za-z .'/-]*))?"
)
# Words that make "3 pi" or "2 sqrt 2" an expression, not a number with a unit.
_MATH_WORDS = frozenset({"pi", "sqrt", "root", "times", "mod", "log", "ln", "exp", "sin", "cos", "tan"})

# Checks a fresh worker runs before it takes samples: the first parse of each kind is slow (0.1-0.3 s).
_WARM_UP = (
    ("1", "1"),
    (r"\frac{1}{2}", "0.5"),
    ("x + y", "xy"),
    (r"x \in [-2,7]", r"\{1, 2\}"),
    ("(3, -2)", "(3,-2)"),
)

Check = Callable[[str, str], bool]


def check_answer(gold: str, answer: str) -> bool:
    """math-verify's verdict on `answer` against `gold`, both bare LaTeX (each is wrapped in ``$...$``)."""
    from math_verify import parse, verify

    parsed = parse(wrap_math(answer), parsing_timeout=None, raise_on_error=True)
    return bool(verify(_parse_gold(gold), parsed, timeout_seconds=None, raise_on_error=True))


@lru_cache(maxsize=4096)
def _parse_gold(gold: str) -> list[Any]:
    """The parsed gold answer (the same gold is checked against every sample of its problem)."""
    from math_verify import parse

    return parse(wrap_math(gold), parsing_timeout=None, raise_on_error=True)


def wrap_math(latex: str) -> str:
    """`latex` in ``$...$`` unless it already holds an unescaped ``$`` (unwrapped, math-verify misreads
    answers such as ``(3, -2)`` or ``x \\in [-2,7]``)."""
    if re.search(r"(?<!\\)\$", latex):
        return latex
    return f"${latex}$"


def prepare_answer(answer: str, method: str) -> str:
    """The form of an extracted answer that is verified and cached: `normalise_answer`, and for answers
    cut from prose ("The answer is 18 dollars.") only the number, since math-verify reads ``$18
    dollars$`` as the product 18·d·o·l·l·a·r·s."""
    if method in ("answer_marker", "answer_phrase") and "\\" not in answer and "{" not in answer:
        match = _NUMBER_WITH_UNIT.fullmatch(answer.strip())
        if match and (match["unit"] is None or match["unit"].split()[0].lower() not in _MATH_WORDS):
            answer = match["number"] + ("\\%" if match["percent"] else "")
    return normalise_answer(answer)


class Outcome(NamedTuple):
    """A verification's verdict, its reason, and whether it depends on (gold, answer) alone and may be
    reused (a verdict or an exception from the check; not a timeout or a crashed process)."""

    verdict: str
    message: str | None
    reusable: bool


@dataclass
class _Worker:
    """One verification process and the parent's end of its pipe."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    ready: bool = False
    task: int | None = None
    deadline: float = 0.0


def _serve(conn: Connection, check: Check) -> None:
    """Worker process loop: receive (task id, gold, answer), send back (task id, verdict, message)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it closes the pool
    logging.getLogger("math_verify").setLevel(logging.ERROR)  # "Timeout is disabled": we time out here
    if check is check_answer:  # warm math-verify up before saying ready, so that no sample pays for it
        for gold, answer in _WARM_UP:
            with contextlib.suppress(Exception):
                check_answer(gold, answer)
    conn.send(("ready", os.getpid(), None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        task, gold, answer = message
        try:
            reply = (task, "correct" if check(gold, answer) else "incorrect", None)
        except Exception as exc:
            reply = (task, "error", f"{type(exc).__name__}: {_short(exc)}")
        conn.send(reply)


def _short(exc: BaseException) -> str:
    """The first 200 characters of an exception's message."""
    try:
        text = str(exc)
    except Exception:
        return "(message unavailable)"
    return text if len(text) <= 200 else text[:197] + "..."


class VerifierPool:
    """Persistent worker processes that run `check(gold, answer)` with a per-task wall-clock limit."""

    def __init__(self, size: int, timeout_s: float, check: Check = check_answer) -> None:
        self.size = max(1, size)
        self.timeout_s = timeout_s
        self.check = check
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self.restarts = 0

    def run(self, tasks: list[tuple[str, str]]) -> list[Outcome]:
        """The outcome of `check` on each (gold, answer): correct / incorrect / error / timeout."""
        results: list[Outcome | None] = [None] * len(tasks)
        queue = deque(range(len(tasks)))
        while len(self._workers) < min(self.size, len(tasks)):
            self._workers.append(self._start())
        failed_starts = 0
        while queue or any(worker.task is not None for worker in self._workers):
            for index, worker in enumerate(self._workers):
                if worker.ready and worker.task is None and queue:
                    task = queue.popleft()
                    try:
                        worker.conn.send((task, *tasks[task]))
                    except OSError:  # it died while idle (killed from outside): not this sample's fault
                        queue.appendleft(task)
                        self._workers[index] = self._replace(worker)
                        continue
                    worker.task = task
                    worker.deadline = time.monotonic() + self.timeout_s
            waiting = [worker for worker in self._workers if worker.task is not None or not worker.ready]
            if not waiting:
                continue
            now = time.monotonic()
            for conn in wait([w.conn for w in waiting], max(0.0, min(w.deadline for w in waiting) - now)):
                index = next(i for i, w in enumerate(self._workers) if w.conn is conn)
                worker = self._workers[index]
                try:
                    task, verdict, message = conn.recv()
                except (EOFError, OSError):
                    worker.process.join(timeout=1.0)  # reap it, to report how it ended
                    code = worker.process.exitcode
                    if worker.task is None:
                        failed_starts = self._failed_start(failed_starts, f"exit code {code}")
                    else:
                        results[worker.task] = Outcome(
                            "error", f"worker process died (exit code {code})", False
                        )
                    self._workers[index] = self._replace(worker)
                    continue
                if task == "ready":
                    worker.ready = True
                    failed_starts = 0
                    continue
                results[task] = Outcome(verdict, message, True)
                worker.task = None
            now = time.monotonic()
            for index, worker in enumerate(self._workers):
                if (worker.task is not None or not worker.ready) and now >= worker.deadline:
                    if worker.task is not None:
                        message = f"verification ran past {self.timeout_s:g} s"
                        results[worker.task] = Outcome("timeout", message, False)
                    else:
                        failed_starts = self._failed_start(failed_starts, "not ready in time")
                    self._workers[index] = self._replace(worker)
        return [result or Outcome("error", "not graded", False) for result in results]

    def _failed_start(self, failed_starts: int, why: str) -> int:
        """Count a worker that died or hung before it was ready; give up after MAX_FAILED_STARTS in a row."""
        failed_starts += 1
        if failed_starts >= MAX_FAILED_STARTS:
            self.close()
            raise RuntimeError(f"math grader worker processes fail to start ({why})")
        return failed_starts

    def _start(self) -> _Worker:
        """A new worker process; it is ready once it has said so."""
        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_serve, args=(child, self.check), daemon=True)
        process.start()
        child.close()
        return _Worker(process=process, conn=parent, deadline=time.monotonic() + STARTUP_TIMEOUT_S)

    def _replace(self, worker: _Worker) -> _Worker:
        """Kill `worker` and start another in its place."""
        self._stop(worker, graceful=False)
        self.restarts += 1
        return self._start()

    @staticmethod
    def _stop(worker: _Worker, *, graceful: bool) -> None:
        """End a worker process: ask it to leave when `graceful`, kill it when it does not."""
        if graceful and worker.process.is_alive():
            with contextlib.suppress(OSError):
                worker.conn.send(None)
            worker.process.join(timeout=2.0)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(timeout=5.0)
        worker.conn.close()

    @property
    def pids(self) -> list[int]:
        """Process ids of the current workers."""
        return [worker.process.pid for worker in self._workers if worker.process.pid is not None]

    def close(self) -> None:
        """Stop every worker process."""
        workers, self._workers = self._workers, []
        for worker in workers:
            self._stop(worker, graceful=worker.task is None)


class MathGrader:
    """Grades math solutions by final answer with math-verify, in worker processes, with a verdict cache."""

    name = "math"

    def __init__(
        self,
        timeout_s: float = 5.0,
        workers: int = os.cpu_count() or 2,
        cache_size: int = 100_000,
        *,
        check: Check = check_answer,
    ) -> None:
        self.version = f"math-verify-{importlib.metadata.version('math-verify')}"
        self.timeout_s = timeout_s
        self.cache_size = max(0, cache_size)
        self._cache: OrderedDict[tuple[str, str], Outcome] = OrderedDict()
        self._pool = VerifierPool(workers, timeout_s, check)

    def grade(self, items: list[tuple[TaskProblem, list[str]]]) -> list[list[Grade]]:
        """Verdicts for every text of every problem, in order."""
        grades: list[list[Grade | None]] = [[None] * len(texts) for _, texts in items]
        # Samples that need a verification: the task they wait on, and what to put in their Grade.
        waiting: list[tuple[int, int, int, str, str]] = []
        tasks: list[tuple[str, str]] = []
        task_of_key: dict[tuple[str, str], int] = {}
        for i, (problem, texts) in enumerate(items):
            gold = (problem.answer or "").strip()
            gold_normal = normalise_answer(gold)
            for j, text in enumerate(texts):
                try:
                    outcome = self._prepare(gold, text)
                except Exception as exc:  # a sample never crashes the batch
                    reason = f"{type(exc).__name__}: {_short(exc)}"
                    outcome = Grade("error", detail={"method": "none", "cached": False, "reason": reason})
                if isinstance(outcome, Grade):
                    grades[i][j] = outcome
                    continue
                key, answer, method = outcome
                if key[1] == gold_normal:  # the gold answer itself, as written: no need to ask math-verify
                    grades[i][j] = _grade(Outcome("correct", None, True), answer, method, cached=False)
                    continue
                hit = self._cache_get(key)
                if hit is not None:
                    grades[i][j] = _grade(hit, answer, method, cached=True)
                    continue
                if self.cache_size and key in task_of_key:
                    waiting.append((i, j, task_of_key[key], answer, method))
                    continue
                task_of_key[key] = len(tasks)
                waiting.append((i, j, len(tasks), answer, method))
                tasks.append(key)
        results = self._pool.run(tasks) if tasks else []
        for key, result in zip(tasks, results, strict=True):
            if result.reusable:
                self._cache_put(key, result)
        seen: set[int] = set()
        for i, j, task, answer, method in waiting:
            grades[i][j] = _grade(results[task], answer, method, cached=task in seen)
            seen.add(task)
        return [[grade for grade in row if grade is not None] for row in grades]

    def _prepare(self, gold: str, text: str) -> Grade | tuple[tuple[str, str], str, str]:
        """A finished Grade, or the cache key, extracted answer and method of a sample to verify."""
        if not isinstance(text, str):
            return Grade("error", detail={"method": "none", "cached": False, "reason": "not text"})
        answer, method = extract_answer(text, last_number=is_plain_number(gold))
        if not gold:
            return Grade("ungraded", answer, {"method": method, "cached": False, "reason": "no gold answer"})
        if answer is None:
            return Grade("incorrect", None, {"method": method, "cached": False, "reason": "no answer found"})
        return (gold, prepare_answer(answer, method)), answer, method

    def _cache_get(self, key: tuple[str, str]) -> Outcome | None:
        """The cached (verdict, message) for `key`, marked most recently used."""
        if not self.cache_size:
            return None
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
        return hit

    def _cache_put(self, key: tuple[str, str], result: Outcome) -> None:
        """Remember a verdict, dropping the least recently used beyond `cache_size`."""
        if not self.cache_size:
            return
        self._cache[key] = result
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def close(self) -> None:
        """Stop worker processes."""
        self._pool.close()

    def __enter__(self) -> MathGrader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _grade(result: Outcome, answer: str, method: str, *, cached: bool) -> Grade:
    """The Grade of one sample from the outcome of its verification."""
    verdict, message, _ = result
    detail: dict[str, Any] = {"method": method, "cached": cached}
    if message is not None:
        detail["reason"] = message
    return Grade(verdict, answer, detail)
