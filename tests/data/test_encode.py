"""Tests for seqnn.encode: known-answer tokens, one-hot, padding, composition, estimators."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from seqnn.data.alphabet import Substitutions
from seqnn.encode import (
    Blosum62Encoder,
    CompositionEncoder,
    EncodedDataset,
    OneHotEncoder,
    TokenEncoder,
    aa_composition,
    crop,
    decode_padded,
    dipeptide_composition,
    encode_table,
    load_encoded,
    one_hot,
    one_hot_tokens,
    one_hot_with_mask,
    pad_tokens,
    padding_mask,
    save_encoded,
    tokenize,
)
from seqnn.errors import PolicyError

# token ids used in the hand-written answers below
A, C, D, E, W, X = 1, 2, 3, 4, 19, 21


def _channel(letter: str) -> int:
    """One-hot channel of a letter: token id - 1."""
    return "ACDEFGHIKLMNPQRSTVWYX".index(letter)


# ----------------------------------------------------------------------------- tokenize


def test_tokenize_known_answer():
    tokens, offsets = tokenize(["ACD", "W"])
    assert tokens.dtype == np.uint8
    assert offsets.dtype == np.int64
    np.testing.assert_array_equal(tokens, np.array([A, C, D, W], dtype=np.uint8))
    np.testing.assert_array_equal(offsets, np.array([0, 3, 4], dtype=np.int64))


def test_tokenize_x_and_empty_list():
    tokens, offsets = tokenize(["XAY"])
    assert tokens.tolist() == [X, A, 20]
    tokens, offsets = tokenize([])
    assert tokens.shape == (0,)
    assert offsets.tolist() == [0]


def test_tokenize_invalid_char_names_record_and_position():
    with pytest.raises(PolicyError) as info:
        tokenize(["ACD", "WW1W"], ids=["p1", "p2"])
    err = info.value
    assert err.record == "p2"
    assert err.position == 3
    assert "'1'" in err.reason
    assert str(err) == "record 'p2' at position 3: invalid character '1'"


def test_tokenize_invalid_char_without_ids_uses_index():
    with pytest.raises(PolicyError) as info:
        tokenize(["ACD", "W", "A*C"])
    assert info.value.record == "#3"
    assert info.value.position == 2


def test_tokenize_non_ascii_char_keeps_position():
    with pytest.raises(PolicyError) as info:
        tokenize(["AC", "AÉC"], ids=["a", "b"])
    assert info.value.record == "b"
    assert info.value.position == 2
    assert "'É'" in info.value.reason


def test_tokenize_default_policy_maps_lowercase_u_and_stop_like_predict():
    subs = Substitutions()
    tokens, offsets = tokenize(["acd", "AUOB*"], ids=["a", "b"], subs=subs)
    assert tokens.tolist() == [A, C, D, A, C, 9, X]  # U->C, O->K (9), B->X, '*' dropped
    assert offsets.tolist() == [0, 3, 7]
    assert subs.counts == {"lowercase": 3, "U->C": 1, "O->K": 1, "B->X": 1,
                           "trailing * dropped": 1}


def test_tokenize_strict_policy_refuses_lowercase_and_u():
    with pytest.raises(PolicyError) as info:
        tokenize(["ACD", "AcD"], ids=["a", "b"], policy="strict")
    assert (info.value.record, info.value.position) == ("b", 2)
    with pytest.raises(PolicyError, match="'U'"):
        tokenize(["AU"], policy="strict")
    with pytest.raises(ValueError, match="unknown alphabet policy"):
        tokenize(["A"], policy="loose")


def test_a_plain_string_is_refused_not_split_into_residues():
    for call in (tokenize, one_hot, aa_composition):
        with pytest.raises(TypeError, match=r"pass \[seq\]"):
            call("ACD")
    with pytest.raises(TypeError, match="single string"):
        OneHotEncoder().fit(["ACD"]).transform("ACD")


def test_library_defaults_match_training_truncation_and_predict_policy():
    from seqnn.config import TrainConfig

    assert TrainConfig().truncate == "ends"
    x = one_hot(["ACDEFGHIK"], max_len=4)
    np.testing.assert_array_equal(x, one_hot(["ACDEFGHIK"], max_len=4, truncate="ends"))
    np.testing.assert_array_equal(one_hot(["acdu"]), one_hot(["ACDC"]))
    enc = OneHotEncoder(max_len=4, flatten=False).fit(["A"])
    assert enc.truncate == "ends" and enc.policy == "map"
    np.testing.assert_array_equal(enc.transform(["ACDEFGHIK"]), x)
    with pytest.raises(PolicyError):
        OneHotEncoder(policy="strict").fit(["a"]).transform(["a"])


def test_tokenize_empty_sequence_is_an_error():
    with pytest.raises(PolicyError) as info:
        tokenize(["AC", ""], ids=["a", "b"])
    assert info.value.record == "b"
    assert "empty" in info.value.reason


# ----------------------------------------------------------------------------- one-hot


def test_one_hot_known_array():
    x = one_hot(["ACD", "W"], max_len=4)
    assert x.shape == (2, 21, 4)
    assert x.dtype == np.float32
    expected = np.zeros((2, 21, 4), dtype=np.float32)
    expected[0, _channel("A"), 0] = 1
    expected[0, _channel("C"), 1] = 1
    expected[0, _channel("D"), 2] = 1
    expected[1, _channel("W"), 0] = 1
    np.testing.assert_array_equal(x, expected)
    # padded columns are all zero
    assert not x[0, :, 3].any()
    assert not x[1, :, 1:].any()


def test_one_hot_default_width_is_longest():
    assert one_hot(["ACD", "W"]).shape == (2, 21, 3)


def test_x_has_its_own_channel_and_is_not_padding():
    x = one_hot(["XA"], max_len=3)
    assert x[0, :, 0].tolist() == [0.0] * 20 + [1.0]
    assert x[0, :, 0].any()
    assert not x[0, :, 2].any()  # the pad column
    assert not np.array_equal(x[0, :, 0], x[0, :, 2])


def test_one_hot_tokens_from_padded():
    padded = np.array([[A, 0], [X, W]], dtype=np.uint8)
    x = one_hot_tokens(padded)
    assert x.shape == (2, 21, 2)
    assert x.dtype == np.float32
    assert x[0, 0, 0] == 1 and x[0].sum() == 1
    assert x[1, 20, 0] == 1 and x[1, 18, 1] == 1 and x[1].sum() == 2


# ----------------------------------------------------------------------------- pad / truncate


@pytest.mark.parametrize(
    ("pad", "tokens", "mask"),
    [
        ("right", [[A, C, D, 0], [W, 0, 0, 0]], [[1, 1, 1, 0], [1, 0, 0, 0]]),
        ("left", [[0, A, C, D], [0, 0, 0, W]], [[0, 1, 1, 1], [0, 0, 0, 1]]),
        ("center", [[A, C, D, 0], [0, W, 0, 0]], [[1, 1, 1, 0], [0, 1, 0, 0]]),
    ],
)
def test_pad_modes_known_answers(pad, tokens, mask):
    t, o = tokenize(["ACD", "W"])
    padded, m = pad_tokens(t, o, max_len=4, pad=pad)
    assert padded.dtype == np.uint8 and m.dtype == bool
    np.testing.assert_array_equal(padded, np.array(tokens, dtype=np.uint8))
    np.testing.assert_array_equal(m, np.array(mask, dtype=bool))
    x, m2 = one_hot_with_mask(["ACD", "W"], max_len=4, pad=pad)
    np.testing.assert_array_equal(m2, m)
    np.testing.assert_array_equal(x.sum(axis=1) > 0, m)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("right", "ACDE"), ("left", "GHIK"), ("center", "DEFG"), ("ends", "ACIK")],
)
def test_truncate_modes_known_answers(mode, expected):
    t, o = tokenize(["ACDEFGHIK"])
    padded, mask = pad_tokens(t, o, max_len=4, truncate=mode)
    assert padded.shape == (1, 4)
    assert decode_padded(padded) == [expected]
    assert mask.all()
    assert "".join(map(_letter, crop(t, 4, mode))) == expected


def _letter(token: int) -> str:
    return "-ACDEFGHIKLMNPQRSTVWYX"[int(token)]


def test_crop_ends_odd_width_and_short_rows():
    t, _ = tokenize(["ACDEFGHIK"])
    assert "".join(map(_letter, crop(t, 5, "ends"))) == "ACHIK"  # 2 head + 3 tail
    assert crop(t, 9, "ends") is t  # not longer than max_len: unchanged
    with pytest.raises(ValueError, match="truncate must be one of"):
        crop(t, 4, "middle")


def test_truncate_error_names_record():
    t, o = tokenize(["AC", "ACDEF"])
    with pytest.raises(ValueError, match=r"record 'long1': length 5 exceeds max_len 4"):
        pad_tokens(t, o, max_len=4, truncate="error", ids=["short", "long1"])
    padded, _ = pad_tokens(t, o, max_len=5, truncate="error")
    assert decode_padded(padded) == ["AC", "ACDEF"]


def test_pad_and_truncate_mode_validation():
    t, o = tokenize(["AC"])
    with pytest.raises(ValueError, match="pad must be one of"):
        pad_tokens(t, o, pad="both")
    with pytest.raises(ValueError, match="truncate must be one of"):
        pad_tokens(t, o, truncate="nope")


def test_one_hot_truncates_with_ends():
    x = one_hot(["ACDEFGHIK"], max_len=4, truncate="ends")
    assert x.shape == (1, 21, 4)
    assert [int(c) for c in x[0].argmax(axis=0)] == [_channel(c) for c in "ACIK"]


def test_padding_mask_known_answer():
    m = padding_mask([3, 1, 0], max_len=4)
    expected = [[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    np.testing.assert_array_equal(m, np.array(expected, dtype=bool))
    assert m.dtype == bool
    assert padding_mask(np.array([2, 1])).tolist() == [[True, True], [True, False]]


def test_one_hot_with_mask_consistent_with_one_hot_and_padding_mask():
    seqs = ["ACDEX", "W", "YY"]
    x, m = one_hot_with_mask(seqs, max_len=6)
    np.testing.assert_array_equal(x, one_hot(seqs, max_len=6))
    np.testing.assert_array_equal(m, padding_mask([5, 1, 2], max_len=6))
    np.testing.assert_array_equal(x.sum(axis=1), m.astype(np.float32))


def test_decode_padded_round_trip():
    seqs = ["ACDEX", "W", "YY"]
    for pad in ("right", "left", "center"):
        t, o = tokenize(seqs)
        padded, _ = pad_tokens(t, o, max_len=7, pad=pad)
        assert decode_padded(padded) == seqs


# ----------------------------------------------------------------------------- composition


def test_aa_composition_known_answer():
    comp = aa_composition(["AAC", "XW"])
    assert comp.shape == (2, 21)
    assert comp.dtype == np.float32
    expected = np.zeros((2, 21), dtype=np.float32)
    expected[0, _channel("A")] = 2 / 3
    expected[0, _channel("C")] = 1 / 3
    expected[1, _channel("X")] = 1 / 2
    expected[1, _channel("W")] = 1 / 2
    np.testing.assert_allclose(comp, expected, rtol=0, atol=1e-7)


def test_dipeptide_composition_known_answer():
    comp = dipeptide_composition(["AAC"])
    assert comp.shape == (1, 400)
    assert comp.dtype == np.float32
    expected = np.zeros((1, 400), dtype=np.float32)
    expected[0, 0 * 20 + 0] = 0.5  # AA
    expected[0, 0 * 20 + 1] = 0.5  # AC
    np.testing.assert_array_equal(comp, expected)


def test_dipeptide_pairs_never_cross_sequence_boundaries():
    comp = dipeptide_composition(["AC", "DE"])
    expected = np.zeros((2, 400), dtype=np.float32)
    expected[0, 0 * 20 + 1] = 1.0  # AC
    expected[1, 2 * 20 + 3] = 1.0  # DE
    np.testing.assert_array_equal(comp, expected)
    assert comp[:, 1 * 20 + 2].sum() == 0  # CD would cross the boundary


def test_dipeptide_single_residue_and_x_pairs():
    comp = dipeptide_composition(["AC", "W", "DE", "AXA"])
    assert comp[0].sum() == 1.0 and comp[0, 1] == 1.0
    assert comp[1].sum() == 0.0  # one residue, no pairs
    assert comp[2].sum() == 1.0 and comp[2, 2 * 20 + 3] == 1.0
    assert comp[3].sum() == 0.0  # both pairs contain X


# ----------------------------------------------------------------------------- estimators

ESTIMATORS = [
    TokenEncoder(max_len=5, pad="left", truncate="ends"),
    OneHotEncoder(max_len=5, pad="center", truncate="left", flatten=False),
    Blosum62Encoder(max_len=5, truncate="center", flatten=False),
    CompositionEncoder(features=("aa", "dipeptide", "length")),
]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_estimators_clone_and_params(est):
    params = est.get_params()
    twin = clone(est)
    assert type(twin) is type(est) and twin is not est
    assert twin.get_params() == params
    seqs = ["ACDEFGH", "WY", "XAC"]
    np.testing.assert_array_equal(
        clone(est).fit(seqs).transform(seqs), clone(est).fit_transform(seqs)
    )
    fitted = clone(est).fit(seqs)
    assert clone(fitted).get_params() == params
    assert not any(k.endswith("_") for k in vars(clone(fitted)))  # clone drops learned state


def test_get_and_set_params_names():
    assert OneHotEncoder().get_params() == {
        "max_len": None, "pad": "right", "truncate": "ends", "flatten": True, "policy": "map",
    }
    assert TokenEncoder().get_params() == {"max_len": None, "pad": "right", "truncate": "ends",
                                           "policy": "map"}
    assert CompositionEncoder().get_params() == {"features": ("aa",)}
    enc = OneHotEncoder().set_params(max_len=3, flatten=False)
    assert enc.max_len == 3 and enc.flatten is False
    assert enc.fit(["A"]).transform(["ACDE"]).shape == (1, 21, 3)


def test_init_stores_params_only():
    enc = Blosum62Encoder(max_len=7)
    assert not hasattr(enc, "max_len_")
    assert not hasattr(enc, "table_")
    assert enc.fit(["AC"]) is enc


def test_fit_learns_max_len_from_training_data_only():
    enc = TokenEncoder().fit(["AC", "ACDE"])
    assert enc.max_len_ == 4
    out = enc.transform(["ACDEFG", "W"])
    F, G = 5, 6  # 'ends' (the default, as training) keeps both termini
    np.testing.assert_array_equal(out, np.array([[A, C, F, G], [W, 0, 0, 0]], dtype=np.uint8))
    assert enc.max_len_ == 4  # transform never refits
    assert TokenEncoder(max_len=2).fit(["ACDE"]).max_len_ == 2
    onehot = OneHotEncoder().fit(["ACD"])
    assert onehot.max_len_ == 3
    assert onehot.transform(["ACDEFGH"]).shape == (1, 63)


def test_token_encoder_known_answer_and_inverse():
    enc = TokenEncoder(max_len=4, pad="left").fit(["ACD"])
    out = enc.transform(["ACD", "W"])
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.array([[0, A, C, D], [0, 0, 0, W]], dtype=np.uint8))
    assert enc.inverse_transform(out).tolist() == ["ACD", "W"]


@pytest.mark.parametrize("flatten", [True, False])
def test_one_hot_encoder_inverse_round_trip(flatten):
    seqs = ["ACDXY", "W", "KLM"]
    enc = OneHotEncoder(flatten=flatten).fit(seqs)
    feats = enc.transform(seqs)
    assert feats.dtype == np.float32
    assert feats.shape == ((3, 21 * 5) if flatten else (3, 21, 5))
    np.testing.assert_array_equal(
        feats.reshape(3, 21, 5), one_hot(seqs, max_len=5)
    )
    assert enc.inverse_transform(feats).tolist() == seqs


def test_encoders_accept_column_vector():
    seqs = np.array([["ACD"], ["W"]], dtype=object)
    np.testing.assert_array_equal(
        TokenEncoder().fit(seqs).transform(seqs), TokenEncoder().fit_transform(["ACD", "W"])
    )


def test_one_hot_encoder_in_pipeline_with_logistic_regression():
    # class 1 starts with W, class 0 with A: position 0 separates them perfectly
    seqs = ["WAC", "WDE", "WKL", "WMN", "ACD", "AEF", "AGH", "AIK"]
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    pipe = Pipeline([("enc", OneHotEncoder(max_len=3)), ("clf", LogisticRegression())])
    pipe.fit(seqs, y)
    assert pipe.named_steps["enc"].max_len_ == 3
    np.testing.assert_array_equal(pipe.predict(["WYY", "AYY"]), [1, 0])
    np.testing.assert_array_equal(pipe.predict(seqs), y)
    twin = clone(pipe).set_params(enc__max_len=2)
    assert twin.fit(seqs, y).named_steps["enc"].max_len_ == 2


def test_blosum62_values():
    enc = Blosum62Encoder(flatten=False).fit(["AW"])
    feats = enc.transform(["AW"])
    assert feats.shape == (1, 21, 2)
    assert feats.dtype == np.float32
    assert feats[0, _channel("A"), 0] == 1.0  # BLOSUM62(A, A) = 4, / 4
    assert feats[0, _channel("W"), 1] == 11 / 4  # BLOSUM62(W, W) = 11
    assert feats[0, _channel("W"), 0] == -3 / 4  # BLOSUM62(A, W) = -3
    assert feats[0, _channel("A"), 1] == -3 / 4
    padded = Blosum62Encoder(max_len=3, flatten=False).fit(["A"]).transform(["AW"])
    assert not padded[0, :, 2].any()  # pad column is zero
    flat = Blosum62Encoder(max_len=3).fit(["A"]).transform(["AW"])
    np.testing.assert_array_equal(flat, padded.reshape(1, -1))


def test_composition_encoder_known_answer():
    enc = CompositionEncoder(features=("length", "aa")).fit(["AAC"])
    assert enc.n_features_out_ == 22
    feats = enc.transform(["AAC"])
    assert feats.shape == (1, 22) and feats.dtype == np.float32
    assert feats[0, 0] == np.float32(np.log(3))
    np.testing.assert_allclose(feats[0, 1:], aa_composition(["AAC"])[0])
    with pytest.raises(ValueError, match="unknown composition features"):
        CompositionEncoder(features=("aa", "kmer")).fit(["AC"])


# ----------------------------------------------------------------------------- datasets


def test_encode_table_with_class_names_order():
    ds = encode_table(
        ["p1", "p2", "p3"], ["ACD", "W", "XY"], ["pos", "neg", "pos"],
        task="binary", class_names=["pos", "neg"],
    )
    assert len(ds) == 3
    assert ds.class_names == ["pos", "neg"]
    assert ds.labels.dtype == np.int64
    assert ds.labels.tolist() == [0, 1, 0]
    assert ds.tokens.tolist() == [A, C, D, W, X, 20]
    assert ds.offsets.tolist() == [0, 3, 4, 6]
    assert ds.lengths.tolist() == [3, 1, 2]
    assert ds.ids.tolist() == ["p1", "p2", "p3"]
    assert [ds.sequence(i) for i in range(3)] == ["ACD", "W", "XY"]


def test_encode_table_default_class_order_is_sorted():
    ds = encode_table(["a", "b", "c"], ["A", "C", "D"], ["z", "m", "z"], task="multiclass")
    assert ds.class_names == ["m", "z"]
    assert ds.labels.tolist() == [1, 0, 1]


def test_encode_table_regression_labels_are_float32():
    ds = encode_table(["a", "b"], ["A", "C"], [0.5, "1.25"], task="regression")
    assert ds.labels.dtype == np.float32
    assert ds.labels.tolist() == [0.5, 1.25]
    assert ds.class_names == []


def test_encode_table_bad_labels_raise():
    with pytest.raises(ValueError, match=r"labels \['maybe'\] are not among the class names"):
        encode_table(["a", "b"], ["A", "C"], ["yes", "maybe"], task="binary",
                     class_names=["yes", "no"])
    with pytest.raises(ValueError):
        encode_table(["a", "b"], ["A", "C"], ["0.5", "high"], task="regression")
    with pytest.raises(PolicyError) as info:
        encode_table(["a", "b"], ["A", "CuC"], None)
    assert (info.value.record, info.value.position) == ("b", 2)


def test_subset_keeps_order_and_labels():
    ds = encode_table(["p1", "p2", "p3"], ["ACD", "W", "XY"], ["a", "b", "a"], task="multiclass")
    sub = ds.subset(np.array([2, 0]))
    assert sub.ids.tolist() == ["p3", "p1"]
    assert sub.tokens.tolist() == [X, 20, A, C, D]
    assert sub.offsets.tolist() == [0, 2, 5]
    assert sub.labels.tolist() == [0, 0]
    assert sub.class_names == ["a", "b"] and sub.task == "multiclass"
    assert [sub.sequence(i) for i in range(2)] == ["XY", "ACD"]
    empty = ds.subset(np.array([], dtype=np.int64))
    assert len(empty) == 0 and empty.tokens.size == 0


def _assert_same_dataset(a: EncodedDataset, b: EncodedDataset) -> None:
    np.testing.assert_array_equal(a.tokens, b.tokens)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(a.ids, b.ids)
    assert a.tokens.dtype == b.tokens.dtype == np.uint8
    assert a.offsets.dtype == b.offsets.dtype == np.int64
    assert a.task == b.task
    assert a.class_names == b.class_names
    if a.labels is None:
        assert b.labels is None
    else:
        assert a.labels.dtype == b.labels.dtype
        np.testing.assert_array_equal(a.labels, b.labels)


@pytest.mark.parametrize(
    ("labels", "task", "names"),
    [
        (["neg", "pos", "neg"], "binary", ["pos", "neg"]),
        ([0.5, -1.0, 2.0], "regression", None),
        (None, "unsupervised", None),
    ],
)
def test_save_and_load_encoded_round_trip(tmp_path, labels, task, names):
    ds = encode_table(["p1", "p2", "p3"], ["ACD", "W", "XY"], labels, task=task, class_names=names)
    path = tmp_path / "sub" / "enc.npz"
    save_encoded(ds, str(path))
    assert path.exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["enc.npz"]  # no temp file left
    with np.load(path, allow_pickle=False) as z:  # readable without pickles
        assert "tokens" in z.files
    _assert_same_dataset(ds, load_encoded(str(path)))
