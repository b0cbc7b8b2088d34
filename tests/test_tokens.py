from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.normalize import normalize
from dedup.tokens import content_mask, tokenize


def test_words_map_back_to_the_original_text() -> None:
    text = "Der „Parler“-Gründer sagte:\u00a0«Wir kommen zurück.» Stra\u00dfe &amp; Co."
    tokens = tokenize(text)
    for word, start, end in zip(tokens.words, tokens.starts, tokens.ends):
        assert normalize(text[start:end]).text == word


@settings(deadline=None, max_examples=200)
@given(st.text(alphabet=st.sampled_from(list("abcßäö ÄÖÜ.,!?\n\r\t„“\"'-–\u00ad\u00a0&;<>/p")),
               max_size=200))
def test_every_word_is_its_original_text_normalized(text: str) -> None:
    tokens = tokenize(text)
    assert len(tokens.words) == len(tokens.starts) == len(tokens.ends)
    for word, start, end in zip(tokens.words, tokens.starts, tokens.ends):
        assert word in normalize(text[start:end]).text


def test_sentences_split_at_sentence_ends_not_at_ordinals_or_numbers() -> None:
    text = ("Am 6. Januar stürmten Anhänger das Kapitol. Es gab 40.000 Downloads! "
            "Wer war es?\nNeue Zeile ohne Punkt")
    tokens = tokenize(text)
    sentences = [" ".join(tokens.words[s:e]) for s, e in tokens.sentences]
    assert sentences == [
        "am 6 januar stürmten anhänger das kapitol",
        "es gab 40 000 downloads",
        "wer war es",
        "neue zeile ohne punkt",
    ]
    assert tokens.sentence_of.tolist() == [0] * 7 + [1] * 5 + [2] * 3 + [3] * 4


def test_quoted_sentence_end_is_a_boundary() -> None:
    tokens = tokenize("Er sagte: „Wir kommen.“ Dann ging er.")
    assert [(s, e) for s, e in tokens.sentences] == [(0, 4), (4, 7)]


def test_content_words_leave_out_function_words() -> None:
    words = ["der", "dienst", "war", "zuletzt", "von", "rechtsradikalen", "genutzt", "x"]
    assert content_mask(words).tolist() == [False, True, False, True, False, True, True, False]


def test_empty_text_has_no_words_or_sentences() -> None:
    tokens = tokenize("  \n ")
    assert tokens.words == [] and tokens.sentences == []
