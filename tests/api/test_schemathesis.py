"""schemathesis against the OpenAPI schema that `coverscope serve` publishes: no 5xx, every response as
documented, for every operation (writes too, with a valid token), on a seeded SQLite and PostgreSQL store."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.core.db import make_engine, make_session_factory
from app.core.schema import upgrade
from tests.api.conftest import AUTH, TOKEN
from tests.api.seed import seed_store
from tests.browser import served

# Examples per operation: bounded so that the whole test stays within about two minutes on two cores.
MAX_EXAMPLES = int(os.environ.get("COVERSCOPE_SCHEMATHESIS_EXAMPLES", "25"))
# Valid input (positive) and input that breaks the schema (negative: must be a documented 4xx, never a 5xx).
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@pytest.mark.slow
def test_served_api_conforms_to_its_schema(database_url: str) -> None:
    """Every operation, fed generated valid and invalid input, answers without a 5xx and as documented."""
    engine = make_engine(database_url)
    upgrade(engine)
    seed_store(make_session_factory(engine))
    engine.dispose()
    failures: list[str] = []
    with served(database_url, env={"COVERSCOPE_API_TOKENS": TOKEN}) as base:
        schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20, [op.label for op in operations]
        for operation, mode in [(op, mode) for op in operations for mode in MODES]:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def exercise(case) -> None:
                case.call_and_validate(
                    base_url=base, headers=AUTH, checks=[not_a_server_error, response_schema_conformance]
                )

            try:
                exercise()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to make invalid (e.g. /health)
            except Exception as exc:  # collect every operation's failure, then report them together
                failures.append(f"{operation.label} ({mode.value}): {type(exc).__name__}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
