"""Seconds-long smoke of the benchmark harness (the benchmarks themselves are not tests)."""

from __future__ import annotations

import json
import sys
import time

import pytest
import torch

from xstilts.paths import repo_root

sys.path.insert(0, str(repo_root()))  # `bench` lives beside `lib/`, as `python -m bench` sees it

from bench import harness  # noqa: E402
from bench.zero_shot import baseline_predict, mismatches, ours_predict  # noqa: E402


def test_alternation_order_medians_and_ratio():
    calls = []

    def slow():
        calls.append("A")
        time.sleep(0.02)

    def fast():
        calls.append("B")
        return {"seconds": 0.005, "note": "own clock"}

    runs = harness.alternate({"baseline": slow, "ours": fast}, repeats=3)
    assert calls == ["A", "B"] * 3
    assert [r.index for r in runs["ours"]] == [0, 1, 2]
    assert runs["ours"][0].seconds == 0.005 and runs["ours"][0].extra == {"note": "own clock"}
    assert runs["baseline"][0].seconds >= 0.02
    assert harness.summary(runs["ours"])["median_s"] == 0.005
    assert harness.ratio(runs["baseline"], runs["ours"]) >= 4
    with pytest.raises(ValueError):
        harness.alternate({"a": slow}, repeats=0)


def test_result_json_and_generated_table(tmp_path):
    rec = harness.Recorder("training")
    rec.runs(
        "runs", harness.alternate({"a": lambda: {"seconds": 2.0}, "b": lambda: {"seconds": 1.0}}, 1)
    )
    rec.rows.append(harness.Row("training", "examples/s", "1 ex/s", "2 ex/s", 2.0, "≥ 1.5×", True))
    path = rec.write(tmp_path)
    data = json.loads(path.read_text())
    assert data["machine"]["cpus"] >= 1 and data["date"] and "loadavg_before" in data
    assert data["runs"]["summary"]["a"]["median_s"] == 2.0
    doc = tmp_path / "performance.md"
    doc.write_text(f"intro\n{harness.TABLE_START}\nold\n{harness.TABLE_END}\nrest\n")
    harness.update_doc(doc, tmp_path)
    text = doc.read_text()
    assert "old" not in text and "| training | examples/s | 1 ex/s | 2 ex/s | 2.00× |" in text
    assert "not measured" in text  # e2e and gpu have no results here
    assert text.startswith("intro\n") and text.endswith("rest\n")
    # figures of another kind of machine, in their folder, fill their own table only
    other = tmp_path / "cpu-without-bf16"
    other.mkdir()
    rec.rows[0] = harness.Row("training", "examples/s", "1 ex/s", "3 ex/s", 3.0, "≥ 1.5×", True)
    rec.write(other)
    start, end = harness.machine_markers("cpu-without-bf16")
    doc.write_text(f"{harness.TABLE_START}\n{harness.TABLE_END}\nmid\n{start}\nold\n{end}\n")
    harness.update_doc(doc, tmp_path)
    main, other_table = doc.read_text().split("mid")
    assert "| 2 ex/s | 2.00× |" in main and "3 ex/s" not in main
    assert "| 3 ex/s | 3.00× |" in other_table and "old" not in other_table
    assert harness.redact(f"log at {repo_root()}/runs/x") == "log at <repo>/runs/x"
    doc.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        harness.update_doc(doc, tmp_path)


def test_zero_shot_arms_predict_identically_on_a_tiny_random_model():
    from bench import common
    from transformers import BertConfig, BertModel

    from xstilts.models.heads import TaskModel

    tok = common.tokenizer()
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=160,
        pad_token_id=tok.pad_token_id,
        initializer_range=0.5,
    )
    model = TaskModel.for_tasks(
        BertModel(config, add_pooling_layer=False), {"t": ("single", 4)}
    ).eval()
    with torch.no_grad():  # spread the logits so that predictions are not all one class
        model.heads["t"].out.weight.mul_(20)
    words = "the a review hotel was very good bad not price room staff clean".split()
    rows = {
        lang: [
            {
                "id": f"{lang}-{i}",
                "text": " ".join(words[(i * 7 + k) % len(words)] for k in range(1 + (i * 13) % 40)),
                "label": i % 4,
            }
            for i in range(9)
        ]
        for lang in ("en", "de", "fr")
    }
    base = baseline_predict(model, tok, rows, "single", task="t", max_length=32, batch_size=4)
    kwargs = {"task": "t", "max_length": 32, "batch_size": 4}
    ours = ours_predict(model, tok, rows, "single", precision="fp32", **kwargs)
    assert {k: len(v) for k, v in ours.items()} == {"en": 9, "de": 9, "fr": 9}
    assert mismatches(base, ours) == 0  # sorting and dynamic padding change nothing in fp32
    bf16 = ours_predict(model, tok, rows, "single", precision="auto", **kwargs)
    assert mismatches(base, bf16) <= 1  # the default (bf16 where supported) agrees
    assert len({p for v in ours.values() for p in v}) > 1  # not a constant predictor


@pytest.mark.slow
def test_quick_caching_benchmark_writes_its_json(tmp_path, monkeypatch):
    """One real benchmark end to end in --quick mode (embedded tokenizer, real VitaminC rows)."""
    from bench import __main__ as cli

    monkeypatch.setenv(harness.RESULTS_ENV, str(tmp_path))
    assert cli.main(["caching", "--quick"]) == 0
    data = json.loads((tmp_path / "quick" / "caching.json").read_text())
    assert data["quick"] and data["tokenisation"]["summary"]["hit_read_arrow"]["n"] == 2
    assert data["rows"][0]["ratio"] > 1  # reading the cache beats tokenising again
    with pytest.raises(SystemExit):
        cli.main(["no_such_benchmark"])


def test_precision_guard_is_not_claimed_where_there_is_no_bf16_arm(monkeypatch):
    """On a CPU without bf16 units ``auto`` is fp32: "ours" is the fp32 arm, so it is not run a
    second time and the guard row says it was not measured (it used to compare fp32 with itself
    and report the guard met)."""
    from bench import multiemo_reference as ref

    monkeypatch.delenv(ref.ARMS_ENV, raising=False)
    assert ref.chosen_arms("fp32") == ("plain", "ours")
    assert ref.chosen_arms("bf16") == ("plain", "ours", "ours_fp32")
    monkeypatch.setenv(ref.ARMS_ENV, "ours_fp32, ours")
    assert ref.chosen_arms("bf16") == ("ours", "ours_fp32")
    monkeypatch.setenv(ref.ARMS_ENV, "plain")
    with pytest.raises(SystemExit, match="including 'ours'"):
        ref.chosen_arms("bf16")
    ours = {1: {"en": 0.70, "de": 0.60}, 2: {"en": 0.72, "de": 0.62}}
    mean = {"ours": {"en": 0.71, "de": 0.61}}
    row = ref._guard_row({"ours": ours}, mean, (1, 2), "fp32")
    assert row.met is None and "not measured" in row.ours and "no bf16 units" in row.ours
    fp32 = {1: {"en": 0.69, "de": 0.61}, 2: {"en": 0.74, "de": 0.62}}  # seeds 0.650, 0.680
    mean["ours_fp32"] = {"en": 0.715, "de": 0.615}
    row = ref._guard_row({"ours": ours, "ours_fp32": fp32}, mean, (1, 2), "bf16")
    assert row.met is True and row.ours == "bf16 0.660" and "0.650–0.680" in row.baseline
    mean["ours"] = {"en": 0.75, "de": 0.65}  # 0.700: outside the fp32 seeds
    assert ref._guard_row({"ours": ours, "ours_fp32": fp32}, mean, (1, 2), "bf16").met is False
