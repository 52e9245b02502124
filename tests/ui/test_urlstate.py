"""Page state <-> query string."""

from __future__ import annotations

from urllib.parse import parse_qs

from app.ui.urlstate import (
    as_choice,
    as_int,
    as_int_list,
    as_text,
    href,
    meta_filters,
    meta_params,
    search_string,
)


def test_as_int_accepts_strings_lists_and_rejects_garbage():
    assert as_int("12") == 12
    assert as_int(["3", "4"]) == 4  # a repeated key: the last value wins
    assert as_int(" 7 ") == 7
    assert as_int("x", 5) == 5
    assert as_int(None, 1) == 1
    assert as_int(True) is None
    assert as_int("0", 8, minimum=1) == 8


def test_as_int_list_reads_commas_repeats_and_drops_duplicates():
    assert as_int_list("3,4") == [3, 4]
    assert as_int_list(["3", "4,5", "3"]) == [3, 4, 5]
    assert as_int_list("7,,x,8") == [7, 8]
    assert as_int_list(None) == []
    assert as_int_list(9) == [9]


def test_as_choice_and_as_text():
    assert as_choice("raw", ("rendered", "raw"), "rendered") == "raw"
    assert as_choice("<script>", ("rendered", "raw"), "rendered") == "rendered"
    assert as_text("  ") is None
    assert as_text(["a", "b"]) == "b"


def test_meta_filters_round_trip():
    query = {
        "a": "1",
        "meta.subject": "Number Theory",
        "meta.level": "Level 2",
        "meta.": "x",
        "meta.empty": "",
    }
    filters = meta_filters(query)
    assert filters == {"subject": "Number Theory", "level": "Level 2"}
    assert meta_filters(meta_params(filters)) == filters


def test_search_string_keeps_order_omits_empties_and_round_trips():
    params = {"a": 1, "b": None, "runs": [3, 4], "facet": "", "tile": "only_a", "meta.subject": "A & B"}
    search = search_string(params)
    assert search.startswith("?a=1&runs=3,4&tile=only_a&")
    parsed = {k: v[0] for k, v in parse_qs(search[1:]).items()}
    assert parsed == {"a": "1", "runs": "3,4", "tile": "only_a", "meta.subject": "A & B"}
    assert as_int_list(parsed["runs"]) == [3, 4]
    assert search_string({"x": None, "y": []}) == ""
    assert href("/trace", {"sample": 5, "vs": None}) == "/trace?sample=5"
