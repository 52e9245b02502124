"""Prompt templates: the harness's qwen-boxed text to the character, chat messages, code prompts, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.errors import InvalidInputError
from worker.prompts import (
    TEMPLATES,
    load_template,
    render_prompt,
    stop_sequences,
    template_from_text,
    template_text,
)
from worker.types import Prompt, TaskProblem

MATH = TaskProblem(key="p1", statement="  What is $1+1$?\n", answer="2", meta={"level": 1})
CONTINUE = TaskProblem(
    key="HumanEval/x",
    statement='def add(a, b):\n    """Add two numbers."""\n',
    tests="def check(candidate):\n    assert candidate(1, 2) == 3\n",
    meta={"entry_point": "add", "completion_mode": "continue"},
)
FULL = TaskProblem(
    key="7",
    statement="Write a function to add. Your code should pass these tests:\n\nassert add(1, 2) == 3",
    tests="assert add(1, 2) == 3\n",
    meta={"entry_point": "add", "completion_mode": "full"},
)

# QwenLM/Qwen2.5-Math evaluation/utils.py PROMPT_TEMPLATES["qwen-boxed"][0], as Python source writes it,
# filled with str.format the way construct_prompt does (the harness strips the question first).
HARNESS_QWEN_BOXED = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\n{input}\nPlease reason step by step, "
    "and put your final answer within \\boxed{{}}.<|im_end|>\n"
    "<|im_start|>assistant\n"
)


def test_qwen_boxed_is_the_harness_prompt_character_for_character() -> None:
    prompt = render_prompt("qwen-boxed", MATH)
    assert prompt.messages is None
    assert prompt.text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nWhat is $1+1$?\n"
        "Please reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert prompt.text == HARNESS_QWEN_BOXED.format(input=MATH.statement.strip()).strip(" ")
    assert "\\boxed{}." in prompt.text and "\\boxed{{}}" not in prompt.text


def test_qwen_boxed_leaves_braces_in_the_question_alone() -> None:
    problem = TaskProblem(key="b", statement="Find $\\frac{1}{2}$ of {x}.", answer="x/2")
    assert "user\nFind $\\frac{1}{2}$ of {x}.\nPlease reason" in (
        render_prompt("qwen-boxed", problem).text or ""
    )


def test_question_only_is_the_bare_question() -> None:
    assert render_prompt("question-only", MATH) == Prompt(text="What is $1+1$?")
    assert render_prompt("question-only", CONTINUE) == Prompt(text=CONTINUE.statement)


def test_chat_is_one_user_message_for_the_models_own_chat_template() -> None:
    assert render_prompt("chat", MATH) == Prompt(
        messages=(
            {
                "role": "user",
                "content": "What is $1+1$?\n"
                "Please reason step by step, and put your final answer within \\boxed{}.",
            },
        )
    )
    assert render_prompt("chat", FULL) == Prompt(
        messages=(
            {
                "role": "user",
                "content": FULL.statement + "\n\nWrite the Python function in a single ```python code block.",
            },
        )
    )
    with pytest.raises(InvalidInputError, match="no form for continue problems"):
        render_prompt("chat", CONTINUE)


def test_code_completion_continues_humaneval_and_asks_mbpp_for_a_code_block() -> None:
    assert render_prompt("code-completion", CONTINUE) == Prompt(
        text=CONTINUE.statement
    )  # verbatim, newline kept
    assert render_prompt("code-completion", FULL) == Prompt(
        text=FULL.statement + "\n\nWrite the Python function in a single ```python code block.\n"
    )
    with pytest.raises(InvalidInputError) as caught:
        render_prompt("code-completion", MATH)
    assert caught.value.field == "template"


def test_qwen_boxed_is_for_math_only() -> None:
    with pytest.raises(InvalidInputError, match="no form for full problems"):
        render_prompt("qwen-boxed", FULL)


def test_template_text_of_a_builtin_is_a_template_file_that_renders_the_same(tmp_path: Path) -> None:
    for name in TEMPLATES:
        text = template_text(name)
        assert json.loads(text)  # a JSON template file
        file = tmp_path / f"{name}.json"
        file.write_text(text, encoding="utf-8")
        for problem in (MATH, CONTINUE, FULL):
            try:
                expected = render_prompt(name, problem)
            except InvalidInputError:
                with pytest.raises(InvalidInputError):
                    render_prompt(f"file:{file}", problem)
                continue
            assert render_prompt(f"file:{file}", problem) == expected
    assert "\\\\boxed{{}}" in template_text("qwen-boxed")  # str.format escaping, JSON-encoded


def test_unknown_template_lists_the_choices() -> None:
    with pytest.raises(InvalidInputError) as caught:
        render_prompt("qwen-boxd", MATH)
    assert caught.value.field == "template"
    for name in (*TEMPLATES, "file:PATH"):
        assert name in str(caught.value)


def test_stop_sequences_of_the_harness() -> None:
    assert "<|im_end|>" in stop_sequences("qwen-boxed")
    assert stop_sequences("chat") == ()


# --- template files -------------------------------------------------------------------------------------


def test_a_text_file_is_a_raw_text_template(tmp_path: Path) -> None:
    file = tmp_path / "mine.txt"
    file.write_text("Problem:\n{question}\n\nAnswer in \\boxed{{}}.\nSolution:", encoding="utf-8")
    assert render_prompt(f"file:{file}", MATH) == Prompt(
        text="Problem:\nWhat is $1+1$?\n\nAnswer in \\boxed{}.\nSolution:"
    )
    assert template_text(f"file:{file}") == file.read_text(encoding="utf-8")


def test_a_json_file_with_messages_is_a_chat_template(tmp_path: Path) -> None:
    file = tmp_path / "chat.json"
    messages = [
        {"role": "system", "content": "You are a careful mathematician."},
        {"role": "user", "content": "{question}\nPut the final answer in \\boxed{{}}."},
    ]
    file.write_text(json.dumps({"messages": messages}), encoding="utf-8")
    assert render_prompt(f"file:{file}", MATH) == Prompt(
        messages=(
            {"role": "system", "content": "You are a careful mathematician."},
            {"role": "user", "content": "What is $1+1$?\nPut the final answer in \\boxed{}."},
        )
    )


def test_a_json_file_may_give_one_form_per_kind_of_problem(tmp_path: Path) -> None:
    file = tmp_path / "kinds.json"
    forms = {"math": {"text": "Q: {question}\nA:"}, "continue": {"text": "{question}"}}
    file.write_text(json.dumps(forms), encoding="utf-8")
    assert render_prompt(f"file:{file}", MATH) == Prompt(text="Q: What is $1+1$?\nA:")
    assert render_prompt(f"file:{file}", CONTINUE) == Prompt(text=CONTINUE.statement)
    with pytest.raises(InvalidInputError, match="no form for full problems"):
        render_prompt(f"file:{file}", FULL)


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    file = tmp_path / "t.txt"
    file.write_text("{question}", encoding="utf-8")
    assert render_prompt(f"file:{file}", MATH).text == "What is $1+1$?"
    file.write_text("Question: {question}", encoding="utf-8")
    assert render_prompt(f"file:{file}", MATH).text == "Question: What is $1+1$?"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("none.txt", "Solve the problem.", "no {question} placeholder"),
        ("unknown.txt", "{question} (hint: {answer})", "unknown placeholder {answer}"),
        ("positional.txt", "{question} in \\boxed{}", "unknown placeholder {}"),
        ("unbalanced.txt", "{question} in \\boxed{", "write literal braces twice"),
        ("spec.txt", "{question!r}", "without a format spec"),
        ("broken.json", '{"text": "{question}",\n', "broken.json:2: invalid JSON"),
        ("list.json", '["{question}"]', "must be an object"),
        ("key.json", '{"prompt": "{question}"}', "unknown key 'prompt'"),
        ("role.json", '{"messages": [{"role": "robot", "content": "{question}"}]}', "message 1 must be"),
        ("last.json", '{"messages": [{"role": "assistant", "content": "{question}"}]}', "last message"),
        ("nomsg.json", '{"messages": []}', "non-empty list"),
    ],
)
def test_bad_template_files_are_answered_clearly(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    file = tmp_path / name
    file.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInputError) as caught:
        render_prompt(f"file:{file}", MATH)
    assert caught.value.field == "template"
    assert message in str(caught.value)
    assert str(file) in str(caught.value)


def test_a_missing_template_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"template file .*nowhere\.txt not found"):
        load_template(f"file:{tmp_path / 'nowhere.txt'}")


def test_a_recorded_template_text_can_be_rendered_without_the_file() -> None:
    template = template_from_text(template_text("qwen-boxed"), name="recorded", json_format=True)
    assert template.render(MATH) == render_prompt("qwen-boxed", MATH)
