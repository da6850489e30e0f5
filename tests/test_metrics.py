"""Metrics against hand-computed values and the official scripts' known behaviour.

Expected numbers are derived by hand in the comments; the QA, tagging and BUCC cases were also
checked against verbatim copies of evaluate-v1.1.py, mlqa_evaluation_v1.py, seqeval 0.0.12 and
XTREME's utils_retrieve.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import xstilts.metrics as M

# --- classification -------------------------------------------------------------------------


def test_accuracy_counts_matches():
    assert M.accuracy([1, 0, 1, 1], [1, 1, 1, 0]) == 0.5


def test_f1_macro_and_micro_by_hand():
    preds, refs = ["a", "a", "b", "c"], ["a", "b", "b", "c"]
    # a: tp1 fp1 fn0 -> 2/3; b: tp1 fp0 fn1 -> 2/3; c: 1
    assert M.f1(preds, refs, "macro") == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert M.f1(preds, refs, "micro") == pytest.approx(0.75)  # = accuracy for single-label
    assert M.f1(preds, refs, "macro", labels=["a"]) == pytest.approx(2 / 3)
    # a class never predicted nor seen contributes 0 to the macro mean
    assert M.f1(preds, refs, "macro", labels=["a", "b", "c", "d"]) == pytest.approx(7 / 12)


def test_classification_rejects_bad_input():
    with pytest.raises(ValueError, match="length"):
        M.accuracy([1, 2], [1])
    with pytest.raises(ValueError, match="empty"):
        M.accuracy([], [])
    with pytest.raises(ValueError, match="average"):
        M.f1([1], [1], "weighted")


# --- tagging --------------------------------------------------------------------------------


def test_seqeval_readme_example():
    y_true = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    y_pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    scores = M.tagging_metrics(y_pred, y_true)
    assert scores["f1"] == pytest.approx(0.5)
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["token_accuracy"] == pytest.approx(0.8)
    assert scores["n"] == 10


def test_i_without_b_starts_an_entity():
    assert M.entity_spans([["I-PER", "I-PER", "O"]]) == [("PER", 0, 1)]
    assert M.entity_f1([["I-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]]) == 1.0
    assert M.entity_spans([["O", "I-LOC", "B-LOC", "I-LOC"]]) == [("LOC", 1, 1), ("LOC", 2, 3)]


def test_type_change_splits_entities():
    assert M.entity_spans([["B-PER", "I-LOC", "I-LOC"]]) == [("PER", 0, 0), ("LOC", 1, 2)]
    # boundary wrong -> both predicted chunks are false positives, gold chunk missed
    scores = M.entity_scores([["B-PER", "I-LOC"]], [["B-PER", "I-PER"]])
    assert scores == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_adjacent_b_tags_are_separate_entities():
    assert M.entity_spans([["B-ORG", "B-ORG", "I-ORG"]]) == [("ORG", 0, 0), ("ORG", 1, 2)]


def test_entities_end_at_sentence_boundaries():
    # sentences are flattened with an O between them: offsets of sentence 2 start at 3
    assert M.entity_spans([["O", "B-LOC"], ["I-LOC", "O"]]) == [("LOC", 1, 1), ("LOC", 3, 3)]
    assert M.entity_spans([["B-PER", "I-PER"]]) == [("PER", 0, 1)]  # entity at sentence end


def test_micro_average_over_sentences():
    gold = [["B-PER", "O", "B-LOC"], ["B-ORG", "I-ORG"]]
    pred = [["B-PER", "O", "O"], ["B-ORG", "O"]]
    # gold 3 chunks, pred 2 chunks (PER right, ORG truncated): P = 1/2, R = 1/3, F1 = 0.4
    scores = M.entity_scores(pred, gold)
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(0.4)


def test_pos_tags_are_scored_as_xtreme_does():
    # runs of one POS tag merge into one chunk: F1 0 although 2 of 3 tokens are right
    gold, pred = [["NOUN", "NOUN", "VERB"]], [["NOUN", "VERB", "VERB"]]
    assert M.entity_spans(gold) == [("NOUN", 0, 1), ("VERB", 2, 2)]
    scores = M.tagging_metrics(pred, gold)
    assert scores["f1"] == 0.0
    assert scores["token_accuracy"] == pytest.approx(2 / 3)
    # tags beginning with S behave like IOBES singletons
    assert M.entity_spans([["SCONJ", "SCONJ"]]) == [("SCONJ", 0, 0), ("SCONJ", 1, 1)]


def test_all_o_has_zero_f1_and_perfect_token_accuracy():
    scores = M.tagging_metrics([["O", "O"]], [["O", "O"]])
    assert scores["f1"] == 0.0 and scores["token_accuracy"] == 1.0


def test_tagging_rejects_misaligned_input():
    with pytest.raises(ValueError, match="sentence 1"):
        M.entity_f1([["O"], ["O"]], [["O"], ["O", "O"]])
    with pytest.raises(TypeError, match="list of tag sequences"):
        M.entity_spans(["B-PER", "I-PER"])


# --- QA: SQuAD v1.1 -------------------------------------------------------------------------


def test_squad_normalisation():
    assert M.squad_normalize("The  Quick, brown fox!") == "quick brown fox"
    assert M.squad_normalize("an apple a day") == "apple day"
    assert M.squad_normalize("Theatre another") == "theatre another"  # word boundaries
    assert M.squad_normalize("«Paris»") == "«paris»"  # only ASCII punctuation goes


def test_squad_scores_by_hand():
    assert M.squad_exact_match("Paris.", "paris") == 1.0
    # [cat, sat] vs [cat, sat, down]: P = 1, R = 2/3 -> F1 = 0.8
    assert M.squad_f1("the cat sat", "a cat sat down") == pytest.approx(0.8)
    assert M.squad_f1("cat cat", "cat") == pytest.approx(2 / 3)  # multiset overlap
    assert M.squad_f1("北京大学", "北京") == 0.0  # one whitespace token each


def test_empty_answers_follow_the_v11_script():
    assert M.squad_exact_match("", "") == 1.0
    assert M.squad_f1("", "") == 0.0  # v1.1 returns 0 when nothing overlaps, even both empty
    assert M.squad_exact_match("The.", "") == 1.0  # normalises to empty


def test_qa_aggregation_max_over_golds_and_unanswered():
    preds = ["Paris", "black cat", None]
    refs = [["paris", "Paris, France"], ["a dog", "the cat"], ["x"]]
    scores = M.squad_metrics(preds, refs)
    # EM: 1, 0, 0 -> 1/3; F1: 1, max(0, 2/3), 0 -> 5/9
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(5 / 9)
    assert scores["em_f1"] == pytest.approx((1 / 3 + 5 / 9) / 2)
    assert scores["n"] == 3
    assert M.em_f1_mean(0.5, 0.7) == pytest.approx(0.6)


def test_qa_rejects_bad_references():
    with pytest.raises(ValueError, match="question 0"):
        M.squad_metrics(["a"], [[]])
    with pytest.raises(ValueError, match="question 0"):
        M.squad_metrics(["a"], ["a"])
    with pytest.raises(ValueError, match="lang"):
        M.qa_metrics(["a"], [["a"]], style="mlqa")


# --- QA: MLQA -------------------------------------------------------------------------------


def test_mlqa_chinese_mixed_segmentation():
    assert M.mixed_segmentation("我爱NLP课程。") == ["我", "爱", "NLP", "课", "程", "。"]
    assert M.mixed_segmentation("鿀鿀 ab") == ["鿀鿀", "ab"]  # U+9FC0 is outside 4E00-9FA5
    assert M.mlqa_normalize("北京，大学", "zh") == "北 京 大 学"
    # 北 京 大 学 vs 北 京: 2 common, P = 1/2, R = 1 -> F1 = 2/3
    assert M.mlqa_f1("北京大学", "北京", "zh") == pytest.approx(2 / 3)
    assert M.mlqa_exact_match("北京大学", "北京", "zh") == 0.0
    assert M.mlqa_exact_match("「北京」", "北京", "zh") == 1.0


def test_mlqa_unicode_punctuation():
    assert M.mlqa_exact_match("«Paris»", "Paris", "en") == 1.0
    assert M.squad_exact_match("«Paris»", "Paris") == 0.0
    assert M.mlqa_normalize("¿Dónde está?", "es") == "dónde está"
    assert M.mlqa_normalize("भारत।", "hi") == "भारत"  # danda is punctuation


def test_mlqa_german_articles():
    assert M.mlqa_normalize("Der Hund des Nachbarn", "de") == "hund nachbarn"
    assert M.mlqa_normalize("Dieser Einbau", "de") == "dieser einbau"  # word boundaries
    assert M.mlqa_f1("die Katze", "Katze", "de") == 1.0
    assert M.mlqa_f1("die Katze", "Katze", "en") == pytest.approx(2 / 3)  # en keeps "die"


def test_mlqa_other_languages_articles():
    assert M.mlqa_normalize("La casa de los abuelos", "es") == "casa de abuelos"
    assert M.mlqa_normalize("cái bàn của tôi", "vi") == "bàn tôi"
    assert M.mlqa_normalize("the book", "hi") == "the book"  # Hindi: no articles


def test_mlqa_arabic_al_is_removed_everywhere():
    assert M.mlqa_normalize("الكتاب", "ar") == "كتاب"
    assert M.mlqa_exact_match("الكتاب", "كتاب", "ar") == 1.0
    # the script's regex also hits ال inside a word, splitting it
    assert M.mlqa_normalize("بالبيت", "ar") == "ب بيت"


def test_mlqa_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="MLQA"):
        M.mlqa_normalize("x", "fr")


def test_mlqa_metrics_aggregate():
    scores = M.mlqa_metrics(["北京大学", "上海"], [["北京"], ["上海", "沪"]], lang="zh")
    assert scores["exact_match"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx((2 / 3 + 1) / 2)


# --- retrieval ------------------------------------------------------------------------------

DEV_CANDIDATES = {
    ("s1", "t1"): 0.9,
    ("s2", "t2"): 0.8,
    ("s3", "t9"): 0.7,
    ("s4", "t4"): 0.6,
    ("s5", "t8"): 0.5,
}
DEV_GOLD = {("s1", "t1"), ("s2", "t2"), ("s4", "t4"), ("s6", "t6")}


def test_bucc_threshold_maximises_f1_by_hand():
    # walk by score: F1 = .4, .667, .571, .75 (peak at s4-t4), .667
    # -> threshold half-way between 0.6 and the next score 0.5
    assert M.bucc_optimize_threshold(DEV_GOLD, DEV_CANDIDATES) == pytest.approx(0.55)
    scores = M.bucc_f1(DEV_GOLD, DEV_CANDIDATES, 0.55)
    assert scores["precision"] == pytest.approx(0.75)
    assert scores["recall"] == pytest.approx(0.75)
    assert scores["f1"] == pytest.approx(0.75)
    assert scores["n_predicted"] == 4 and scores["n_gold"] == 4
    # a stricter threshold keeps s1, s2 only: P = 1, R = 1/2 -> 2/3
    assert M.bucc_f1(DEV_GOLD, DEV_CANDIDATES, 0.75)["f1"] == pytest.approx(2 / 3)


def test_bucc_dev_threshold_applied_to_test():
    test_candidates = {("a", "A"): 0.95, ("c", "X"): 0.58, ("b", "B"): 0.56}
    test_gold = {("a", "A"), ("b", "B"), ("c", "C")}
    result = M.bucc_evaluate(DEV_GOLD, DEV_CANDIDATES, test_gold, test_candidates)
    assert result["threshold"] == pytest.approx(0.55)
    assert result["dev_f1"] == pytest.approx(0.75)
    # 0.55 keeps all three test candidates, two right: P = R = 2/3
    assert result["f1"] == pytest.approx(2 / 3)
    # F1 peaks at the last candidate: the threshold is its score (the script would IndexError)
    assert M.bucc_optimize_threshold(test_gold, test_candidates) == pytest.approx(0.56)


def test_bucc_candidates_from_triples_take_the_max():
    triples = [("s", "t", 0.3), ("s", "t", 0.7), ("s", "t", 0.5), ("u", "v", 0.1)]
    assert M.candidate_scores(triples) == {("s", "t"): 0.7, ("u", "v"): 0.1}
    assert M.bucc_metrics(triples, {("s", "t")})["f1"] == 1.0  # oracle threshold drops u-v


def test_bucc_without_correct_candidates():
    assert M.bucc_optimize_threshold({("x", "y")}, {("a", "b"): 2.0}) == 0.0
    assert M.bucc_f1({("x", "y")}, {("a", "b"): 2.0}, 0.0)["f1"] == 0.0
    with pytest.raises(ValueError, match="gold"):
        M.bucc_f1(set(), {("a", "b"): 1.0}, 0.0)


def test_tatoeba_accuracy_at_1():
    similarity = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.8], [0.1, 0.2, 0.7]])
    assert M.accuracy_at_1(similarity) == pytest.approx(2 / 3)  # argmax 0, 2, 2 vs 0, 1, 2
    assert M.accuracy_at_1(similarity, gold=[0, 2, 2]) == 1.0
    assert M.tatoeba_accuracy(["x", "y"], ["x", "z"]) == 0.5
    with pytest.raises(ValueError, match="2-D"):
        M.accuracy_at_1(np.zeros(3))


# --- registry -------------------------------------------------------------------------------

REGISTRY_CASES = {
    "accuracy": ([1, 0], [1, 1], {}, 0.5),
    "f1_macro": (["a", "b"], ["a", "a"], {}, (2 / 3 + 0) / 2),
    "seqeval_f1": ([["B-PER", "O"]], [["B-PER", "B-LOC"]], {}, 2 / 3),
    "pos_f1": ([["NOUN", "VERB"]], [["NOUN", "VERB"]], {}, 1.0),
    "token_accuracy": ([["NOUN", "VERB"]], [["NOUN", "NOUN"]], {}, 0.5),
    "squad_em_f1": (["the cat sat"], [["a cat sat down"]], {}, 0.8),
    "mlqa_em_f1": (["北京大学"], [["北京"]], {"lang": "zh"}, 2 / 3),
    "bucc_f1": (DEV_CANDIDATES, DEV_GOLD, {"threshold": 0.75}, 2 / 3),
    "tatoeba_accuracy": ([0, 2, 2], [0, 1, 2], {}, 2 / 3),
    # doc 1: top-2 {3, 1} holds both gold labels; doc 2: top-1 {0} misses label 2
    "r_precision": ([[3, 1, 2], [0, 1, 2]], [[1, 3], [2]], {}, 0.5),
    "squad_v2": ([{"text": "", "null_diff": 1.0}], [[]], {"threshold": 0.0}, 1.0),
    "multilabel_f1": ([[[1, 2.0], [0, -1.0]]], [[1]], {}, 1.0),
}


def test_r_precision_reads_the_top_r_and_skips_documents_without_labels():
    ranked = [[4, 0, 2, 1, 3], [1, 0], [0, 1]]
    gold = [[0, 1, 2], [], [1]]
    # doc 1: top-3 {4, 0, 2} holds 2 of 3; doc 2 has no R and is skipped; doc 3: top-1 misses
    assert M.compute("r_precision", ranked, gold) == {"r_precision": pytest.approx(1 / 3), "n": 2}
    with pytest.raises(ValueError, match="at least one"):
        M.compute("r_precision", [[0]], [[]])


@pytest.mark.parametrize("name", sorted(M.METRICS))
def test_every_registered_metric_reports_its_primary_key(name):
    predictions, references, options, expected = REGISTRY_CASES[name]
    result = M.compute(name, predictions, references, **options)
    assert result[M.primary_key(name)] == pytest.approx(expected)


def test_registry_errors_are_helpful():
    with pytest.raises(KeyError, match="did you mean accuracy"):
        M.get_metric("acuracy")
    with pytest.raises(TypeError, match="options"):
        M.compute("accuracy", [1], [1], lang="en")


def test_squad_v2_scores_no_answer_items_as_the_official_script():
    preds = [
        {"text": "the cat", "null_diff": -3.0},  # answerable, answered
        {"text": "a dog", "null_diff": 1.5},  # unanswerable; "no answer" wins at threshold 0
        {"text": "red", "null_diff": 0.5},  # answerable but the null score is higher
    ]
    refs = [["cat"], [], ["red", "the red"]]
    at0 = M.compute("squad_v2", preds, refs, threshold=0.0)
    assert at0["HasAns_total"] == 2 and at0["NoAns_total"] == 1
    assert at0["NoAns_exact"] == 1.0 and at0["HasAns_exact"] == 0.5  # "red" lost to no-answer
    assert at0["f1"] == pytest.approx(2 / 3)
    tuned = M.compute("squad_v2", preds, refs)  # tuned on these items: keep "red" (0.5 < t < 1.5)
    assert tuned["f1"] == 1.0 and 0.5 <= tuned["null_threshold"] < 1.5


def test_multilabel_f1_adds_a_none_label_and_macro_averages_every_column():
    # 3 labels; doc 1 gold {0} predicted {0, 2}; doc 2 gold {} predicted {} (both "none")
    ranked = [[[0, 3.0], [2, 1.0], [1, -2.0]], [[1, -0.5], [0, -1.0], [2, -3.0]]]
    out = M.compute("multilabel_f1", ranked, [[0], []])
    # tp: 0, none; fp: 2 -> micro 2*2/(2*2+1) = 0.8
    assert out["f1_micro"] == pytest.approx(0.8)
    # columns 0, 1, 2, none: F1 1, 0 (never seen: zero_division 0), 0, 1 -> macro 0.5
    assert out["f1_macro"] == pytest.approx(0.5)
