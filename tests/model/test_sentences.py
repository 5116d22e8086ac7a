import re

import pytest

from stanceframe.model.sentences import split_sentences


def texts_of(text: str) -> list[str]:
    return [span.text for span in split_sentences(text).sentences]


def assert_offsets_and_coverage(text: str) -> None:
    """Every span is the original text at its offsets, and no word is lost or counted twice."""
    split = split_sentences(text)
    spans = ([split.dateline] if split.dateline else []) + split.sentences
    covered = [0] * len(text)
    for span in spans:
        assert text[span.start : span.end] == span.text
        assert span.text == span.text.strip() and span.text
        for position in range(span.start, span.end):
            covered[position] += 1
    for position, character in enumerate(text):
        expected = 0 if character.isspace() else 1
        if not character.isspace():
            assert covered[position] == expected, (position, text[position - 10 : position + 10])
        assert covered[position] <= 1


@pytest.mark.parametrize(
    ("text", "dateline", "first"),
    [
        (
            "MOSCOW, February 21. /TASS/. Russia accused the U.S. of meddling.",
            "MOSCOW, February 21. /TASS/.",
            "Russia accused the U.S. of meddling.",
        ),
        (
            "KYIV (Reuters) - Ukraine said it had shot down 27 drones.",
            "KYIV (Reuters) -",
            "Ukraine said it had shot down 27 drones.",
        ),
        (
            "WASHINGTON (AP) — The State Department rejected the claim.",
            "WASHINGTON (AP) —",
            "The State Department rejected the claim.",
        ),
        (
            "BEIJING, March 14 (Xinhua) -- China urged restraint.",
            "BEIJING, March 14 (Xinhua) --",
            "China urged restraint.",
        ),
        (
            "UNITED NATIONS, Feb. 3, 2024 (AFP) - The envoy walked out.",
            "UNITED NATIONS, Feb. 3, 2024 (AFP) -",
            "The envoy walked out.",
        ),
        ("ST. PETERSBURG — Putin spoke.", "ST. PETERSBURG —", "Putin spoke."),
        (
            "Kyiv, Feb 21. /ITAR-TASS/. Officials said so.",
            "Kyiv, Feb 21. /ITAR-TASS/.",
            "Officials said so.",
        ),
        (
            "MOSCOW. Feb 21 (Interfax) - Lavrov spoke.",
            "MOSCOW. Feb 21 (Interfax) -",
            "Lavrov spoke.",
        ),
    ],
)
def test_wire_datelines_stay_off_the_first_sentence(text, dateline, first):
    split = split_sentences(text)
    assert split.dateline is not None and split.dateline.text == dateline
    assert split.dateline.start == 0
    assert split.sentences[0].text == first
    assert text[split.sentences[0].start :].startswith(first)


@pytest.mark.parametrize(
    "text",
    [
        "NATO said the drills would go on. UN officials agreed.",
        "The U.S. (the biggest donor) - and others - paid.",
        "EU foreign ministers met in Brussels.",
        "Russia's envoy - in a rare move - walked out.",
    ],
)
def test_ordinary_openings_are_not_datelines(text):
    split = split_sentences(text)
    assert split.dateline is None
    assert split.sentences[0].start == 0


def test_dateline_after_a_headline_and_on_its_own_line():
    text = "Russia, Ukraine trade blame over port strike\n\nKYIV (Reuters) - Ukraine denied it."
    split = split_sentences(text)
    assert split.dateline.text == "KYIV (Reuters) -"
    assert texts_of(text) == ["Russia, Ukraine trade blame over port strike", "Ukraine denied it."]
    alone = split_sentences("MOSCOW, February 21. /TASS/.\n\nRussia denied it.")
    assert alone.dateline.text == "MOSCOW, February 21. /TASS/."
    assert [span.text for span in alone.sentences] == ["Russia denied it."]


def test_a_dateline_later_in_the_text_is_left_alone():
    text = "Moscow said so.\n\nKYIV (Reuters) - Ukraine denied it."
    assert split_sentences(text).dateline is None
    assert texts_of(text)[1] == "KYIV (Reuters) - Ukraine denied it."


def test_quotes_spanning_sentences_stay_with_their_attribution():
    text = (
        '"We will respond. The strike was a provocation. Kyiv will pay," Zakharova said. '
        "Kyiv denied it. “We are ready to talk. But not under threats,” Lavrov said. "
        '"It is a lie." Then he left.'
    )
    assert texts_of(text) == [
        '"We will respond. The strike was a provocation. Kyiv will pay," Zakharova said.',
        "Kyiv denied it.",
        "“We are ready to talk. But not under threats,” Lavrov said.",
        '"It is a lie."',
        "Then he left.",
    ]


def test_abbreviations_initials_and_numbers_do_not_end_sentences():
    text = (
        "Lt. Gen. Igor Konashenkov said 27 drones were downed on Feb. 3 at 10 a.m. over the sea. "
        "Vladimir V. Putin met Recep T. Erdogan in St. Petersburg. "
        "The U.S.-led coalition spent $1.5 bln. in 2023, vs. 2.5% of GDP. "
        "Russia's envoy to the U.N., Vassily Nebenzia, objected. "
        "Amb. Linda Thomas-Greenfield replied at 5 p.m. Moscow time. "
        "No. 2 official Dr. Jones agreed."
    )
    assert texts_of(text) == [
        "Lt. Gen. Igor Konashenkov said 27 drones were downed on Feb. 3 at 10 a.m. over the sea.",
        "Vladimir V. Putin met Recep T. Erdogan in St. Petersburg.",
        "The U.S.-led coalition spent $1.5 bln. in 2023, vs. 2.5% of GDP.",
        "Russia's envoy to the U.N., Vassily Nebenzia, objected.",
        "Amb. Linda Thomas-Greenfield replied at 5 p.m. Moscow time.",
        "No. 2 official Dr. Jones agreed.",
    ]


def test_a_sentence_can_end_on_an_abbreviation():
    assert texts_of("He arrived in the U.S. The talks began on Monday.") == [
        "He arrived in the U.S.",
        "The talks began on Monday.",
    ]


def test_paragraphs_break_sentences_and_hard_wrapped_lines_join():
    text = (
        "Russia said that the strike was staged by\nKyiv and that it would respond. Ukraine\n"
        "denied the claim\n\nHeadline-like paragraph without a period\n\nLast one."
    )
    assert texts_of(text) == [
        "Russia said that the strike was staged by\nKyiv and that it would respond.",
        "Ukraine\ndenied the claim",
        "Headline-like paragraph without a period",
        "Last one.",
    ]


def test_list_items_keep_their_lines():
    text = "The ministry listed its demands:\n- a ceasefire\n- talks in Istanbul\n1. Prisoner swaps"
    assert texts_of(text) == [
        "The ministry listed its demands:",
        "- a ceasefire",
        "- talks in Istanbul",
        "1. Prisoner swaps",
    ]


def test_windows_line_endings_keep_offsets_into_the_original():
    text = "KYIV (Reuters) - Ukraine denied\r\nthe claim.\r\n\r\nRussia proposed talks.\r\n"
    split = split_sentences(text)
    assert [span.text for span in split.sentences] == [
        "Ukraine denied\r\nthe claim.",
        "Russia proposed talks.",
    ]
    assert_offsets_and_coverage(text)


def test_empty_and_blank_text_give_no_sentences():
    assert split_sentences("").sentences == []
    assert split_sentences(" \n\n \t").sentences == []
    assert split_sentences(" \n\n \t").dateline is None


@pytest.mark.parametrize(
    "text",
    [
        "  leading space. And trailing.  ",
        'He said: "It is a lie." Kyiv said: "It is true." "',
        "Is this a provocation?! Yes!! He said so... Then silence.",
        "A (nested (bracket. Test.) here) ok. Fine.",
        "«Мы готовы к переговорам», — заявил Лавров. Kyiv replied.",
        "x" * 3000 + ". Then more.",
    ],
)
def test_offsets_hold_and_no_text_is_lost(text):
    assert_offsets_and_coverage(text)


def test_example_article_splits_cleanly(tmp_path):
    from tests.conftest import REPO

    text = (REPO / "examples" / "tass_grain_corridor.txt").read_text(encoding="utf-8")
    split = split_sentences(text)
    assert split.dateline.text == "ISTANBUL, March 14. /TASS/."
    paragraphs = [part for part in re.split(r"\n\s*\n", text) if part.strip()]
    # The article is written one sentence a paragraph.
    assert len(split.sentences) == len(paragraphs)
    assert_offsets_and_coverage(text)


def test_pathological_input_finishes(tmp_path):
    """Hyphenated capitals once made the dateline pattern backtrack for ever, and a paragraph with
    no sentence end made pysbd quadratic; a subprocess turns a hang into a failure."""
    import subprocess
    import sys

    from tests.conftest import REPO

    # Load the module on its own, without the package (and so without torch), to start quickly.
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('sentences', {str(REPO / 'model' / 'sentences.py')!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['sentences'] = module\n"
        "spec.loader.exec_module(module)\n"
        "split_sentences = module.split_sentences\n"
        "split_sentences('-'.join(['Ab'] * 80) + ' said so.')\n"
        "split_sentences('MOSCOW, ' * 6000)\n"
        "split_sentences(('Ab. ' * 20000) + 'x' * 50000)\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=900)
