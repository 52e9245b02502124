"""The `arithmetic-fewshot` prompt template: two worked examples as earlier chat turns, then the question."""

from __future__ import annotations

import re

from worker.benchmarks import load_benchmark
from worker.benchmarks.arithmetic import arithmetic_problems
from worker.graders.answers import extract_answer
from worker.prompts import (
    ARITHMETIC_EXAMPLES,
    ARITHMETIC_INSTRUCTION,
    TEMPLATES,
    render_prompt,
    template_from_text,
    template_text,
)


def test_it_renders_two_worked_examples_then_the_question() -> None:
    problem = load_benchmark("arithmetic", limit=3).problems[2]
    prompt = render_prompt("arithmetic-fewshot", problem)
    assert prompt.text is None and prompt.messages is not None
    roles = [m["role"] for m in prompt.messages]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    assert prompt.messages[-1]["content"] == problem.statement + "\n" + ARITHMETIC_INSTRUCTION
    assert prompt.messages[0]["content"].startswith(ARITHMETIC_EXAMPLES[0][0])
    assert prompt.messages[3]["content"] == ARITHMETIC_EXAMPLES[1][1]
    other = render_prompt("arithmetic-fewshot", load_benchmark("arithmetic", limit=4).problems[3])
    assert other.messages[:4] == prompt.messages[:4] and other.messages[4] != prompt.messages[4]


def test_the_worked_examples_are_right_and_end_as_the_instruction_asks() -> None:
    for question, solution in ARITHMETIC_EXAMPLES:
        answer, method = extract_answer(solution)
        assert method == "answer_phrase"
        # every equation the example writes holds, and the last result is the answer it gives
        results = []
        for left, right in re.findall(r"(\d+(?: [-+*] \d+)+) = (\d+)", solution):
            assert eval(left) == int(right), (left, right)  # digits and + - * only, from our own constant
            results.append(right)
        assert results and results[-1] == answer
        assert question not in {r["problem"] for r in arithmetic_problems()}


def test_it_is_a_builtin_whose_recorded_text_renders_the_same() -> None:
    assert "arithmetic-fewshot" in TEMPLATES
    problem = load_benchmark("arithmetic", limit=1).problems[0]
    recorded = template_from_text(template_text("arithmetic-fewshot"), name="recorded", json_format=True)
    assert recorded.render(problem) == render_prompt("arithmetic-fewshot", problem)
