"""Tests for seqnn.data.alphabet: token ids and every rule of the cleaning policy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqnn.data.alphabet import (
    ID_TO_LETTER,
    N_CHANNELS,
    N_TOKENS,
    PAD_ID,
    STANDARD,
    TOKEN_LUT,
    UNKNOWN_ID,
    Substitutions,
    check_policy,
    clean,
    decode,
)
from seqnn.encode import tokenize
from seqnn.errors import PolicyError

# ----------------------------------------------------------------------------- token ids


def test_token_ids_follow_the_contract():
    assert STANDARD == "ACDEFGHIKLMNPQRSTVWY"
    assert PAD_ID == 0
    assert UNKNOWN_ID == 21
    assert N_TOKENS == 22
    assert N_CHANNELS == 21
    assert TOKEN_LUT.dtype == np.uint8
    assert TOKEN_LUT[ord("A")] == 1
    assert TOKEN_LUT[ord("C")] == 2
    assert TOKEN_LUT[ord("W")] == 19
    assert TOKEN_LUT[ord("Y")] == 20
    assert TOKEN_LUT[ord("X")] == 21
    for i, letter in enumerate(STANDARD, start=1):
        assert TOKEN_LUT[ord(letter)] == i


def test_lut_marks_everything_else_invalid():
    valid = {ord(c) for c in STANDARD + "X"}
    invalid = [b for b in range(256) if b not in valid]
    assert np.all(TOKEN_LUT[invalid] == 255)
    # lowercase and the mapped letters are never tokenised directly
    for c in "aBZJUO*-.":
        assert TOKEN_LUT[ord(c)] == 255


def test_id_to_letter_table():
    assert ID_TO_LETTER.tobytes().decode() == "-ACDEFGHIKLMNPQRSTVWYX"


def test_check_policy():
    assert check_policy("map") == "map"
    assert check_policy("strict") == "strict"
    with pytest.raises(ValueError, match="unknown alphabet policy 'loose'"):
        check_policy("loose")
    with pytest.raises(ValueError, match="unknown alphabet policy"):
        clean("ACD", policy="loose")


# ----------------------------------------------------------------------------- map policy


def test_clean_sequence_passes_unchanged_and_uncounted():
    subs = Substitutions()
    assert clean("ACDEFGHIKLMNPQRSTVWYX", "r1", subs=subs) == "ACDEFGHIKLMNPQRSTVWYX"
    assert not subs.counts
    assert subs.summary() == "none"


def test_map_lowercase_is_upper_cased_and_counted():
    subs = Substitutions()
    assert clean("acDe", "r1", subs=subs) == "ACDE"
    assert subs.counts == {"lowercase": 3}
    assert subs.records == {"r1": 3}


def test_map_u_to_c_and_o_to_k():
    subs = Substitutions()
    assert clean("AUGOU", "r1", subs=subs) == "ACGKC"
    assert subs.counts == {"U->C": 2, "O->K": 1}


@pytest.mark.parametrize("letter", ["B", "Z", "J"])
def test_map_ambiguous_letters_become_x_and_are_counted(letter):
    subs = Substitutions()
    assert clean(f"A{letter}C{letter}", "r1", subs=subs) == "AXCX"
    assert subs.counts == {f"{letter}->X": 2}


def test_map_all_rules_together_counted_by_kind():
    subs = Substitutions()
    assert clean("acuobzj*", "r1", subs=subs) == "ACCKXXX"
    assert subs.counts == {
        "lowercase": 7,
        "trailing * dropped": 1,
        "U->C": 1,
        "O->K": 1,
        "B->X": 1,
        "Z->X": 1,
        "J->X": 1,
    }
    assert subs.records == {"r1": 13}
    assert subs.summary() == (
        "B->X x1, J->X x1, O->K x1, U->C x1, Z->X x1, lowercase x7, "
        "trailing * dropped x1 in 1 record(s)"
    )


def test_substitutions_count_records_separately():
    subs = Substitutions()
    clean("AU", "r1", subs=subs)
    clean("AU", "r2", subs=subs)
    clean("AC", "r3", subs=subs)
    assert subs.counts == {"U->C": 2}
    assert subs.records == {"r1": 1, "r2": 1}
    assert subs.summary() == "U->C x2 in 2 record(s)"


def test_map_drops_one_trailing_stop():
    subs = Substitutions()
    assert clean("ACD*", "r1", subs=subs) == "ACD"
    assert subs.counts == {"trailing * dropped": 1}


def test_map_inner_stop_is_an_error():
    with pytest.raises(PolicyError) as info:
        clean("AC*D", "r1")
    err = info.value
    assert (err.record, err.position) == ("r1", 3)
    assert "'*'" in err.reason and "inside" in err.reason
    assert str(err).startswith("record 'r1' at position 3:")


def test_map_two_trailing_stops_are_an_error():
    with pytest.raises(PolicyError) as info:
        clean("AC**", "r1")
    assert info.value.record == "r1"
    assert info.value.position == 3
    assert "'*'" in info.value.reason


def test_map_lone_stop_is_empty_after_policy():
    with pytest.raises(PolicyError, match="empty sequence"):
        clean("*", "r1")


def test_map_invalid_character_names_record_position_and_char():
    with pytest.raises(PolicyError) as info:
        clean("ACD1E", "p7")
    err = info.value
    assert (err.record, err.position) == ("p7", 4)
    assert "'1'" in str(err)
    assert str(err) == "record 'p7' at position 4: invalid character '1'"


# ----------------------------------------------------------------------------- strict policy


@pytest.mark.parametrize(
    ("seq", "position", "char"),
    [("AcD", 2, "c"), ("ACU", 3, "U"), ("BAC", 1, "B"), ("ACO", 3, "O"), ("AZ", 2, "Z")],
)
def test_strict_refuses_non_standard_letters(seq, position, char):
    with pytest.raises(PolicyError) as info:
        clean(seq, "r9", policy="strict")
    err = info.value
    assert err.record == "r9"
    assert err.position == position
    assert f"'{char}'" in err.reason
    assert "strict" in err.reason
    assert f"record 'r9' at position {position}" in str(err)


def test_strict_refuses_trailing_stop():
    with pytest.raises(PolicyError) as info:
        clean("ACD*", "r9", policy="strict")
    assert info.value.position == 4
    assert "trailing '*'" in info.value.reason
    assert "strict" in info.value.reason


def test_strict_accepts_standard_and_x():
    subs = Substitutions()
    assert clean("ACXY", "r1", policy="strict", subs=subs) == "ACXY"
    assert not subs.counts


# ----------------------------------------------------------------------------- gaps


@pytest.mark.parametrize("policy", ["map", "strict"])
@pytest.mark.parametrize("gap", ["-", "."])
def test_gap_is_an_error_without_drop_gaps(policy, gap):
    with pytest.raises(PolicyError) as info:
        clean(f"AC{gap}D", "g1", policy=policy)
    err = info.value
    assert (err.record, err.position) == ("g1", 3)
    assert f"gap character '{gap}'" in err.reason
    assert "drop_gaps" in err.reason


@pytest.mark.parametrize(("seq", "position"), [("A-C*", 2), ("a.C*", 2), ("AC-D*", 3)])
def test_gap_position_is_not_shifted_by_a_dropped_trailing_stop(seq, position):
    # the map policy drops the trailing '*'; the gap is still reported where it is written
    with pytest.raises(PolicyError) as info:
        clean(seq, "g1")
    assert info.value.position == position
    assert "gap character" in info.value.reason


@pytest.mark.parametrize(
    ("seq", "position", "char"), [("A--@KV", 4, "@"), ("-.AC1", 5, "1"), ("A-C*D", 4, "*")]
)
def test_drop_gaps_error_position_is_as_written(seq, position, char):
    with pytest.raises(PolicyError) as info:
        clean(seq, "g1", drop_gaps=True)
    assert info.value.position == position
    assert f"'{char}'" in info.value.reason


@pytest.mark.parametrize("policy", ["map", "strict"])
def test_drop_gaps_removes_and_counts_gaps(policy):
    subs = Substitutions()
    assert clean("-A-C.D..", "g1", policy=policy, drop_gaps=True, subs=subs) == "ACD"
    assert subs.counts == {"gap dropped": 5}
    assert subs.records == {"g1": 5}


def test_drop_gaps_only_gaps_is_empty_error():
    with pytest.raises(PolicyError, match="empty sequence"):
        clean("--..", "g1", drop_gaps=True)


# ----------------------------------------------------------------------------- empty


@pytest.mark.parametrize("policy", ["map", "strict"])
def test_empty_sequence_is_an_error(policy):
    with pytest.raises(PolicyError) as info:
        clean("", "e1", policy=policy)
    assert info.value.record == "e1"
    assert info.value.position is None
    assert str(info.value) == "record 'e1': empty sequence"


def test_policy_error_is_a_value_error():
    assert issubclass(PolicyError, ValueError)


# ----------------------------------------------------------------------------- decode


def test_decode_known_answer():
    assert decode(np.array([1, 2, 3, 19, 20, 21], dtype=np.uint8)) == "ACDWYX"
    assert decode(np.array([1, 0, 0], dtype=np.uint8)) == "A--"
    assert decode([5]) == "F"


def test_decode_tokenize_round_trip_known():
    seq = "ACDEFGHIKLMNPQRSTVWYX"
    tokens, offsets = tokenize([seq])
    assert tokens.tolist() == list(range(1, 22))
    assert offsets.tolist() == [0, 21]
    assert decode(tokens) == seq


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=STANDARD + "X", min_size=1, max_size=200))
def test_decode_tokenize_round_trip_property(seq):
    tokens, offsets = tokenize([seq])
    assert tokens.dtype == np.uint8
    assert offsets.tolist() == [0, len(seq)]
    assert decode(tokens) == seq
    # a clean sequence passes the policy unchanged under both policies
    assert clean(seq, policy="map") == seq
    assert clean(seq, policy="strict") == seq
