import pytest

from stanceframe.errors import ConfigError
from stanceframe.training.augment import swap_targets, target_words
from stanceframe.training.config import TargetSwapConfig, load_config
from stanceframe.training.data import Example, Split


def pair(text: str, target: str, stance: str, kind: str | None, group: str | None) -> Example:
    return Example(text, [stance], target, f"train line {text[:8]}", target_type=kind, group=group)


def corpus() -> Split:
    rows = [
        pair("Moscow rejected the charge as absurd.", "Ukraine", "against", "country", "g1"),
        pair("Moscow rejected the charge as absurd.", "Russia", "none", "country", "g1"),
        pair("The summit ended without a statement.", "Brazil", "none", "country", "g2"),
        pair("Voters backed the carbon tax at the polls.", "Carbon tax", "favor", "policy", "g3"),
        pair("The wealth tax drove investors away.", "Wealth tax", "against", "policy", "g4"),
        pair("Lula praised the deal.", "Luiz Inácio Lula da Silva", "favor", "leader", "g2"),
        pair("Nobody trusts the ministry any more.", "Kenya", "against", None, None),
    ]
    return Split("train", "train.jsonl", rows)


def test_every_pair_gets_a_safe_swapped_copy():
    split = corpus()
    result = swap_targets(split, TargetSwapConfig(fraction=1.0), seed=0)
    originals = split.examples
    copies = result.split.examples[len(originals) :]
    assert result.split.examples[: len(originals)] == originals
    for copy in copies:
        source = next(e for e in originals if e.text == copy.text)
        assert copy.labels == ["none"] and copy.location.endswith("(target swap)")
        assert copy.target not in {e.target for e in originals if e.text == copy.text}
        # never a target of the sentence's own storyline, never a target the sentence names
        assert copy.target not in {e.target for e in originals if e.group == source.group}
        assert not target_words(copy.target) & target_words(copy.text)
        if source.target_type is not None:
            kinds = {e.target: e.target_type for e in originals}
            assert kinds[copy.target] == source.target_type
    by_text = {copy.text: copy.target for copy in copies}
    # Kenya has no type, so it is no candidate for a country; Brazil's group is not g1
    assert by_text["Moscow rejected the charge as absurd."] == "Brazil"
    assert by_text["The summit ended without a statement."] in {"Ukraine", "Russia"}
    assert by_text["Voters backed the carbon tax at the polls."] == "Wealth tax"
    # the only leader is in the sentence's group: no candidate
    assert "Lula praised the deal." not in by_text
    assert result.without_candidate == 1
    assert result.added == len(copies) == len(originals) - 1


def split_of(*pairs) -> Split:
    return Split("train", "t", list(pairs))


def test_a_target_whose_word_is_in_the_sentence_is_never_swapped_in():
    split = split_of(
        pair("The Wealth Tax Act passed.", "Carbon tax", "none", "policy", "a"),
        pair("Carbon pricing failed.", "Wealth tax", "against", "policy", "b"),
    )
    result = swap_targets(split, TargetSwapConfig(fraction=1.0), seed=0)
    # "Wealth tax" shares "wealth" with the first sentence, "Carbon tax" shares "carbon" with the
    # second: neither may be swapped in
    assert result.added == 0 and result.without_candidate == 2


def test_the_draw_is_seeded_and_the_fraction_is_kept():
    split = corpus()
    first = swap_targets(split, TargetSwapConfig(fraction=0.5), seed=7)
    again = swap_targets(split, TargetSwapConfig(fraction=0.5), seed=7)
    assert first.split.examples == again.split.examples
    assert first.added + first.without_candidate == round(len(split.examples) * 0.5)


def test_target_swap_is_refused_without_a_target_or_with_an_unknown_label(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "data: {train: t.jsonl, labels: [favor, against, none]}\n"
        "training: {target_swap: {fraction: 0.3}}\n"
    )
    with pytest.raises(ConfigError, match="target_swap is for single-label stance runs"):
        load_config(config)
    with pytest.raises(ConfigError, match="'neutral' is not one of data.labels"):
        load_config(
            config,
            ["data.target_column=target", "training.target_swap.label=neutral"],
        )


def test_a_target_of_the_same_storyline_is_never_swapped_in():
    split = split_of(
        pair("Talks resumed in Doha on Monday.", "Qatar", "none", "country", "doha-talks"),
        pair("The envoy flew home early.", "Egypt", "none", "country", "doha-talks"),
    )
    assert swap_targets(split, TargetSwapConfig(fraction=1.0), seed=0).added == 0
    split.examples[1].group = "another-story"
    assert swap_targets(split, TargetSwapConfig(fraction=1.0), seed=0).added == 2
