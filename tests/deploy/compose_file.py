"""Read the deployment files as Docker does: compose interpolation, Dockerfile stages, .env.example."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = REPO / ".env.example"
PYPROJECT = REPO / "pyproject.toml"

# The compose specification's interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e},
# ${VAR:+a}, ${VAR+a}. Nested references inside a default are not used in our file and are refused.
_REFERENCE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(LookupError):
    """A `${VAR:?message}` (or `${VAR?message}`) whose variable is not set: compose refuses to start."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """`text` with every variable reference replaced the way `docker compose` does it."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        if "$" in arg:
            raise ValueError(f"nested interpolation in {match[0]!r} is not supported here")
        value = env.get(name)
        is_set, is_nonempty = value is not None, bool(value)
        if op in (":-", "-"):
            use_default = not is_nonempty if op == ":-" else not is_set
            return arg if use_default else value
        if op in (":?", "?"):
            if not (is_nonempty if op == ":?" else is_set):
                raise MissingVariable(f"{name}: {arg}")
            return value
        if op in (":+", "+"):
            return arg if (is_nonempty if op == ":+" else is_set) else ""
        return value or ""

    return _REFERENCE.sub(replace, text)


def variables(text: str) -> set[str]:
    """The names of every variable `text` refers to."""
    return {m["braced"] or m["bare"] for m in _REFERENCE.finditer(text) if not m["escaped"]}


def _interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env) for key, value in node.items()}
    return node


def raw_compose() -> dict[str, Any]:
    """docker-compose.yml as written (anchors resolved, variables not yet substituted)."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose(env: Mapping[str, str]) -> dict[str, Any]:
    """docker-compose.yml with every value interpolated from `env`, as `docker compose config` shows it."""
    return _interpolate_tree(raw_compose(), env)


def argv(value: str | list[str] | None) -> list[str]:
    """A compose `command` / `entrypoint` as an argument vector (a string is split like a shell would)."""
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(item) for item in value]


def env_example() -> dict[str, str]:
    """The variables .env.example sets, with their example values."""
    out = {}
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name), f".env.example:{number}: {line!r}"
        out[name] = value
    return out


@dataclass
class Stage:
    """One `FROM ... AS name` stage of the Dockerfile and the instructions in it."""

    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def arguments(self, keyword: str) -> list[str]:
        """The arguments of every `keyword` instruction of this stage, in order."""
        return [args for kw, args in self.instructions if kw == keyword.upper()]


def dockerfile_stages(path: Path = DOCKERFILE) -> dict[str, Stage]:
    """The named stages of a Dockerfile (continuation lines joined, comments dropped)."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for instruction in logical:
        keyword, _, args = instruction.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", args.strip(), flags=re.IGNORECASE)
            assert match, f"unreadable FROM line: {instruction!r}"
            current = Stage(name=match[2] or f"#{len(stages)}", base=match[1])
            stages[current.name] = current
        elif current is not None:
            current.instructions.append((keyword, args.strip()))
    return stages


def pip_install_targets(stage: Stage) -> list[str]:
    """What the stage's `pip install` / `uv pip install` commands install from the build context."""
    targets = []
    for run in stage.arguments("RUN"):
        for command in re.split(r"&&|;", run):
            words = shlex.split(command)
            for i in range(len(words) - 1):
                if words[i] == "pip" and words[i + 1] == "install":
                    targets += [w for w in words[i + 2 :] if not w.startswith("-")]
    return [t for t in targets if t == "." or t.startswith(".[")]


def extras(target: str) -> set[str]:
    """`.[a,b]` -> {"a", "b"}; `.` -> set()."""
    match = re.fullmatch(r"\.(?:\[([^\]]*)\])?", target)
    assert match, f"not an install of the project itself: {target!r}"
    return {name.strip() for name in (match[1] or "").split(",") if name.strip()}
