"""Final-answer extraction and the cache-key normal form, on crafted texts and on real model traces."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from worker.graders.answers import extract_answer, is_plain_number, last_boxed, normalise_answer

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GSM8K30 = SHARED_DATA / "generations" / "gsm8k30_qwen2.5-1.5b_sft_vs_rlvr_ppo_n8"
GPT3_SOLUTIONS = SHARED_DATA / "generations" / "gsm8k_gpt3_example_model_solutions.jsonl"


def shared_file(path: Path) -> Path:
    """`path`, or a skip (a failure in CI) when the shared data is absent."""
    if not path.exists():
        from tests.conftest import missing_component

        missing_component(f"shared data file {path}")
    return path


def read_jsonl(path: Path) -> list[dict]:
    """The rows of a JSONL file."""
    with shared_file(path).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (r"so $x = \boxed{5}$.", "5"),
        (r"first \boxed{3}, then on reflection \boxed{4}", "4"),
        (r"\boxed{\frac{1}{\sqrt{2}}}", r"\frac{1}{\sqrt{2}}"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\boxed{\left( 3, -2 \right)}", r"\left( 3, -2 \right)"),
        (r"$\boxed{x \in [-2,7]}$", r"x \in [-2,7]"),
        (r"The answer is $\boxed 5$.", "5"),
        ("\\boxed 12\nmore text", "12"),
        (r"\fbox{7}", "7"),
        (r"\boxed{\boxed{9}}", "9"),
        (r"\boxed{8} and finally \boxed{}", "8"),  # an empty box is no answer; the one before counts
        (r"\boxed{8} then a cut-off \boxed{1", "8"),  # an unclosed box (truncated output) does not count
        (r"\boxed{\text{Blue: } 4,\; \text{Red: } 6}", r"\text{Blue: } 4,\; \text{Red: } 6"),
    ],
)
def test_boxed(text: str, answer: str) -> None:
    assert extract_answer(text) == (answer, "boxed")


def test_boxed_beats_every_other_form() -> None:
    text = "The answer is 3.\n#### 4\n\\boxed{5} and 6 more"
    assert extract_answer(text) == ("5", "boxed")


def test_degenerate_repetition() -> None:
    # A model stuck in a loop until the token limit: tens of thousands of unclosed boxes after a good one.
    text = r"so \boxed{12}. " + r"\boxed{\frac{" * 30_000
    assert extract_answer(text) == ("12", "boxed")


def test_boxedness_needs_the_command() -> None:
    assert last_boxed(r"\boxedfoo{3}") is None
    assert last_boxed("boxed{3}") is None
    assert last_boxed(r"\boxed{}") is None


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("She has 16 - 3 = <<16-3=13>>13 eggs\n#### 13", "13"),
        ("Janet sells 9 eggs.\nA: 18", "18"),
        ("#### 1,000\n", "1,000"),
        ("A: 5 billion", "5 billion"),
        ("Q: x?\nA: 3\nQ: y?\nA: **4**.", "4"),
    ],
)
def test_answer_marker(text: str, answer: str) -> None:
    assert extract_answer(text) == (answer, "answer_marker")


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("So the answer is 18.", "18"),
        ("The answer is 3.5.", "3.5"),
        ("The answer is: (3, -2).", "(3, -2)"),
        ("Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.", "\\frac{1}{2}"),
        ("**Final Answer:** 42", "42"),
        ("The final answer is 7 apples. Let me double-check: 3 + 4 = 7.", "7 apples"),
        ("I think the answer is $18.", "$18"),  # one dollar sign is currency, not math
        ("The answer is 3.\nWait, recount: the answer is 4", "4"),
    ],
)
def test_answer_phrase(text: str, answer: str) -> None:
    assert extract_answer(text) == (answer, "answer_phrase")


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Jean can fill **14** bags.", "14"),
        ("They pay $1,234.50 in total", "1234.50"),
        ("16-3 leaves", "3"),
        ("the temperature falls to -5 degrees", "-5"),
        ("about .5 of it", ".5"),
        ("x2 and y3 are not numbers, 7 is", "7"),
        ("共18个", "18"),
    ],
)
def test_last_number(text: str, answer: str) -> None:
    assert extract_answer(text) == (answer, "last_number")


def test_last_number_only_when_allowed() -> None:
    assert extract_answer("there are 5 of them", last_number=False) == (None, "none")
    assert extract_answer("") == (None, "none")
    assert extract_answer("no digits here") == (None, "none")


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("18", True),
        ("-3.5", True),
        ("1,000", True),
        (r"45{,}000", True),
        (r"22,\!500", True),
        (r"\$18", True),
        ("50%", True),
        (r"\frac{1}{2}", False),
        ("(3, -2)", False),
        ("x = 3", False),
        ("", False),
    ],
)
def test_is_plain_number(text: str, plain: bool) -> None:
    assert is_plain_number(text) is plain


@pytest.mark.parametrize(
    ("answer", "normal"),
    [
        (" 18 ", "18"),
        ("$18$", "18"),
        (r"\(\frac{1}{2}\)", r"\frac{1}{2}"),
        ("$$x^2$$", "x^2"),
        (r"\boxed{5}", "5"),
        (r"\left( 3, -2 \right)", "( 3, -2 )"),
        (r"\left\lfloor x \right\rfloor", r"\lfloor x \rfloor"),
        (r"\left. \frac{dy}{dx} \right|_{x=0}", r"\left. \frac{dy}{dx} |_{x=0}"),
        (r"22,\!500", "22,500"),
        (r"11,\! 111,\! 100", "11,111,100"),  # math-verify drops the space after \! too
        (r"52\ \text{WPM}", r"52 \text{WPM}"),
        (r"16\,\text{hours}", r"16\,\text{hours}"),
        (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}"),
        (r"a \\ \right", r"a \\ \right"),
        (r"\dfrac{3}{4}", r"\frac{3}{4}"),
        (r"\cfrac{3}{4}", r"\frac{3}{4}"),
        (r"\tfrac12", r"\frac12"),
        ("18.", "18"),
        ("a  +\n b", "a + b"),
    ],
)
def test_normalise_answer(answer: str, normal: str) -> None:
    assert normalise_answer(answer) == normal


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (r"\pi r", r"\pir"),  # the space ends a control word
        ("1,2", "12"),
        (r"\$18", "18"),  # units and currency are math-verify's to judge
        (r"18 \text{dollars}", "18"),
        ("X", "x"),
        (r"\leftarrow", "arrow"),
        (r"\\ 2", r"\ 2"),  # a line break (matrix row) is not a control space
        (r"\\!", "!"),
        (r"$5$ and $6$", "5$ and $6"),
        ("1...", "1.."),
    ],
)
def test_normalise_answer_keeps_apart_what_may_differ(first: str, second: str) -> None:
    assert normalise_answer(first) != normalise_answer(second)


def test_real_qwen_traces_match_the_files_own_extraction() -> None:
    """On the gsm8k30 rollouts our boxed answer is byte-for-byte the file's `pred_token` wherever both
    found a box. Where they differ in method, the file's extractor skipped boxes that do not hold a
    number (``\\boxed{4 \\text{ blue}, 6 \\text{ red}}``) and took the last number instead; one rollout
    cut off mid-sentence got "final_phrase" 42 there (from "is indeed 42") and the last number 3 here."""
    boxed = differing = 0
    for name in ("rl_raw.jsonl", "sft_raw.jsonl"):
        for row in read_jsonl(GSM8K30 / name):
            for rollout in row["rollouts"]:
                answer, method = extract_answer(rollout["text"])
                assert answer is not None
                assert normalise_answer(normalise_answer(answer)) == normalise_answer(answer)
                if method == rollout["extract_method"] == "boxed":
                    boxed += 1
                    assert answer == rollout["pred_token"]
                elif method != rollout["extract_method"]:
                    differing += 1
                    assert method in ("boxed", "last_number")
    assert boxed == 461
    assert differing == 8


def test_real_gpt3_gsm8k_solutions_end_with_their_marker() -> None:
    """OpenAI's GSM8K example solutions end with "A: N"; the few that do not (cut off) fall back to the
    last number."""
    methods: dict[str, int] = {}
    for row in read_jsonl(GPT3_SOLUTIONS):
        for setting in ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"):
            solution = row[setting]["solution"]
            answer, method = extract_answer(solution)
            methods[method] = methods.get(method, 0) + 1
            last_line = solution.strip().splitlines()[-1] if solution.strip() else ""
            if last_line.startswith("A:"):
                assert (answer, method) == (last_line.removeprefix("A:").strip(), "answer_marker")
            else:
                assert method == "last_number"
                assert re.search(r"\d", answer or "")
    assert methods == {"answer_marker": 5265, "last_number": 11}
