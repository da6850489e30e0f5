"""Grid expansion: counts, checkpoint reuse, content-addressed keys and downstream invalidation."""

from __future__ import annotations

from pathlib import Path

import pytest

from xstilts.orchestration.grid import expand, notebook_parameters
from xstilts.orchestration.params import ParamsError, load_study
from xstilts.orchestration.stageconfig import fit_config

STUDY = """\
study: g
seeds: {intermediate: [1, 2], target: [1, 2]}
intermediate:
  tasks: [vitaminc, fever]
target:
  tasks: [multiemo, multiemo_parallel]
  train: {max_steps: 3}
"""


def grid_of(tmp_path: Path, *overrides: str, text: str = STUDY):
    path = tmp_path / "g.yaml"
    path.write_text(text, encoding="utf-8")
    return expand(load_study(path, overrides, registry=False))


def test_counts_and_checkpoint_reuse(tmp_path):
    grid = grid_of(tmp_path)
    assert len(grid.of("curate")) == 1
    assert len(grid.of("intermediate")) == 2 * 2  # tasks x intermediate seeds
    # multiemo: (4 checkpoints + baseline) x target seeds; multiemo_parallel (retrieval) trains
    # nothing, so a target seed changes nothing: one run per checkpoint and one baseline
    assert len(grid.of("target")) == (4 + 1) * 2 + (4 + 1)
    assert len(grid.of("analysis")) == 1
    assert len({r.id for r in grid.runs}) == len(grid.runs)
    for ckpt in grid.of("intermediate"):
        users = [r for r in grid.of("target") if ckpt.id in r.inputs]
        assert len(users) == 2 + 1  # every target seed of multiemo, and the retrieval run
    baselines = [r for r in grid.of("target") if r.config["intermediate"] is None]
    assert len(baselines) == 2 + 1 and all(len(r.inputs) == 1 for r in baselines)
    assert [len(layer) for layer in grid.layers()] == [1, 2 + 1 + 4, 8 + 4, 1]
    names = {r.name for r in grid.of("target")}
    assert "multiemo__from-vitaminc-s1__s2" in names and "multiemo__baseline__s1" in names
    assert "multiemo_parallel__baseline__s1" in names
    assert "multiemo_parallel__from-vitaminc-s2__s2" in names  # labelled with the encoder's seed
    assert not any(n.startswith("multiemo_parallel__baseline__s2") for n in names)
    assert grid_of(tmp_path, "baseline=false").of("target").__len__() == 4 * 2 + 4


def test_mixture_is_one_intermediate_per_seed(tmp_path):
    text = STUDY.replace(
        "  tasks: [vitaminc, fever]\n",
        "  tasks: [vitaminc]\n  mixtures:\n    mix: {tasks: [vitaminc, fever], sampling: uniform}\n",
    )
    grid = grid_of(tmp_path, text=text)
    mixes = [r for r in grid.of("intermediate") if r.config["task"] == "mix"]
    assert len(mixes) == 2 and mixes[0].config["tasks"] == ["vitaminc", "fever"]
    assert mixes[0].config["sampling"] == "uniform"
    curate = grid.of("curate")[0].config
    assert curate["intermediate_tasks"] == ["fever", "vitaminc"]
    assert curate["target_tasks"] == ["multiemo", "multiemo_parallel"]


def test_a_task_is_curated_in_the_role_the_study_gives_it(tmp_path):
    """SQuAD is registered as intermediate and target; as an intermediate it is curated as one
    (curating it as a target made its training items 'leak' into its own test split)."""
    grid = grid_of(tmp_path, text=STUDY.replace("[vitaminc, fever]", "[squad]"))
    curate = grid.of("curate")[0].config
    assert curate["intermediate_tasks"] == ["squad"] and "squad" not in curate["target_tasks"]


def test_keys_stable_and_exactly_downstream_invalidation(tmp_path):
    a = grid_of(tmp_path)
    b = grid_of(tmp_path)
    assert [r.id for r in a.runs] == [r.id for r in b.runs]
    # a target-only parameter of one task changes exactly that task's target runs and the analysis
    c = grid_of(tmp_path, "target.per_task.multiemo.max_steps=7")
    changed = {r.id for r in a.runs} - {r.id for r in c.runs}
    expected = {r.id for r in a.of("target") if r.config["task"] == "multiemo"} | {
        a.of("analysis")[0].id
    }
    assert changed == expected
    # an intermediate parameter changes the intermediates and everything downstream of them
    d = grid_of(tmp_path, "intermediate.train.lr=2e-5")
    changed = {r.id for r in a.runs} - {r.id for r in d.runs}
    expected = set()
    for ckpt in a.of("intermediate"):
        expected |= {ckpt.id} | a.downstream(ckpt.id)
    assert changed == expected
    assert not any(r.config.get("intermediate", "x") is None for r in a.runs if r.id in changed)
    # a curate parameter changes everything
    e = grid_of(tmp_path, "curate.max_train_examples=11")
    assert not ({r.id for r in a.runs} & {r.id for r in e.runs})


def test_notebook_parameters(tmp_path):
    grid = grid_of(tmp_path)
    study_dir = tmp_path / "runs" / "g"
    target = next(r for r in grid.of("target") if r.config["intermediate"] == "fever-s2")
    params = notebook_parameters(target, grid, study_dir, tmp_path / "reports")
    assert (
        params["encoder_dir"].endswith("/encoder")
        and "intermediate/fever__s2-" in params["encoder_dir"]
    )
    assert params["curate_dir"] == str(study_dir / grid.of("curate")[0].id)
    assert params["out_dir"] == str(study_dir / target.id)
    base = next(r for r in grid.of("target") if r.config["intermediate"] is None)
    assert notebook_parameters(base, grid, study_dir, tmp_path)["encoder_dir"] is None
    ana = notebook_parameters(grid.of("analysis")[0], grid, study_dir, tmp_path / "reports")
    assert set(ana) == {"config", "study_dir", "report_dir"}


def test_mlm_continuation_settings_reach_the_stage_and_curate_its_corpus(tmp_path):
    assert "udhr" not in grid_of(tmp_path).of("curate")[0].config["target_tasks"]
    grid = grid_of(
        tmp_path, "intermediate.train.mlm=true", "intermediate.train.mlm_probability=0.2"
    )
    assert "udhr" in grid.of("curate")[0].config["target_tasks"]  # the MLM corpus is curated
    fitted, unknown = fit_config("intermediate", grid.of("intermediate")[0].config)
    assert not unknown and fitted["mlm"] is True and fitted["mlm_probability"] == 0.2
    assert "udhr" not in [r.config["task"] for r in grid.of("target")]  # not a target
    evaluated = grid.of("intermediate")[0].config["evaluated_tasks"]
    assert set(evaluated) == {r.config["task"] for r in grid.of("target")}


def test_masked_lm_on_a_target_task_is_refused_before_compute(tmp_path):
    """mlm_task udhr while udhr is a target: its test split would be masked-LM text."""
    with pytest.raises(ParamsError, match="also a target task whose test split"):
        grid_of(tmp_path, "intermediate.train.mlm=true", "target.tasks=[multiemo,udhr]")


def test_matched_seeds_pair_each_checkpoint_with_its_own_target_seed(tmp_path):
    seeds = ("seeds.intermediate=[1,2,3]", "seeds.target=[1,2,3]")
    crossed = grid_of(tmp_path, *seeds)
    matched = grid_of(tmp_path, *seeds, "seeds.pairing=matched")
    trained = [r for r in matched.of("target") if r.config["intermediate"]]
    crossed_trained = [r for r in crossed.of("target") if r.config["intermediate"]]

    def of_task(runs, task):
        return [r for r in runs if r.config["task"] == task]

    # multiemo trains: crossed runs every target seed per checkpoint; multiemo_parallel is
    # retrieval: one run per checkpoint however the seeds pair
    for task, factor in (("multiemo", 3), ("multiemo_parallel", 1)):
        assert len(of_task(crossed_trained, task)) == factor * len(of_task(trained, task))
    assert all(r.config["intermediate"].endswith(f"-s{r.config['seed']}") for r in trained)
    base = [r for r in matched.of("target") if not r.config["intermediate"]]
    assert sorted(r.config["seed"] for r in of_task(base, "multiemo")) == [1, 2, 3]
    assert [r.config["seed"] for r in of_task(base, "multiemo_parallel")] == [1]
    with pytest.raises(ParamsError, match="every intermediate seed must be a target seed"):
        grid_of(tmp_path, "seeds.intermediate=[1,4]", "seeds.pairing=matched")
