"""Layered study parameters: merging, YAML 1.1 pitfalls and error messages naming file + key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from xstilts.orchestration.params import Layers, ParamsError, load_study, parse_override

GOOD = """\
study: t
intermediate:
  tasks: [vitaminc]
target:
  tasks: [multiemo]
"""


def write(tmp_path: Path, text: str, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, *overrides: str) -> str:
    with pytest.raises(ParamsError) as info:
        load_study(path, overrides)
    return str(info.value)


def test_deep_merge_nested_and_replace():
    base = {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "l": [1, 2], "x": 1}
    over = {"a": {"c": {"d": 20}}, "l": [9], "y": 2}
    layers = Layers()
    layers.add(base, "base", {})
    layers.add(over, "overlay", {})
    merged = layers.data
    assert merged == {"a": {"b": 1, "c": {"d": 20, "e": 3}}, "l": [9], "x": 1, "y": 2}
    assert base["a"]["c"]["d"] == 2  # inputs untouched


def test_layers_base_profile_study_override(tmp_path):
    study = write(
        tmp_path,
        GOOD.replace("  tasks: [vitaminc]\n", "  tasks: [vitaminc]\n  train: {lr: 1e-4}\n"),
    )
    r = load_study(study, ["target.train.batch_size=4", "seeds.target=[1, 2]"])
    s = r.study
    assert s.model == "embedded:multilingual-e5-small"  # from the profile
    assert s.intermediate.train.lr == 1e-4  # study file (YAML 1.1 would read a string)
    assert s.intermediate.train.batch_size == 16  # profile value kept by the deep merge
    assert s.target.train.batch_size == 4 and s.target.train.lr == 2e-4  # override + profile
    assert s.seeds.target == [1, 2] and s.seeds.intermediate == [1]  # base
    assert s.resources.for_stage("curate")["mem"] == "16G"  # base resources, profile default
    assert r.layers.origin(("target", "train", "batch_size"))[0].startswith("command line")


def test_profile_switch_by_override(tmp_path):
    r = load_study(write(tmp_path, GOOD), ["profile=xlmr-large"], registry=False)
    assert r.study.model == "xlm-roberta-large"
    assert r.study.target.train.lr == 1e-5 and r.study.target.train.max_length == 256
    assert r.study.target.per_task["pawsx"].epochs == 5
    assert r.study.resources.for_stage("target")["gpus"] == 1


def test_yaml11_float_string_is_a_float(tmp_path):
    path = write(
        tmp_path,
        GOOD.replace(
            "  tasks: [multiemo]\n",
            "  tasks: [multiemo]\n  train: {lr: 3e-5, weight_decay: 1E-2}\n",
        ),
    )
    s = load_study(path).study
    assert isinstance(s.target.train.lr, float) and s.target.train.lr == 3e-5
    assert s.target.train.weight_decay == 0.01


def test_norwegian_no_stays_a_language_and_bool_where_bool(tmp_path):
    from xstilts.languages import LANGUAGES
    from xstilts.orchestration.yamlio import parse_yaml

    assert parse_yaml("l: [no, yes, on, off]\nb: true\n", "x").data == {
        "l": ["no", "yes", "on", "off"],
        "b": True,
    }
    path = write(tmp_path, GOOD + "curate:\n  languages: [de, no, on]\nbaseline: no\n")
    with pytest.raises(ParamsError) as info:  # `on` is no language code; neither is read as a bool
        load_study(path)
    msg = str(info.value)
    assert "curate.languages[2]: unknown language 'on'" in msg and "boolean" not in msg
    assert ("[1]" in msg) == ("no" not in LANGUAGES)
    path.write_text(GOOD + "curate:\n  languages: [de, nl]\nbaseline: no\n")
    s = load_study(path).study
    assert s.curate.languages == ["de", "nl"] and s.baseline is False


ONLY_INT = "study: t\nintermediate: {tasks: [vitaminc]}\n"
ONLY_TGT = "study: t\ntarget: {tasks: [multiemo]}\n"
BAD = [
    # (name, study text, overrides, expected fragments)
    (
        "unknown key with suggestion",
        GOOD + "seeds: {intermediat: [1]}\n",
        (),
        [
            "study.yaml:6: seeds.intermediat: unknown key 'intermediat'; did you mean 'intermediate'?"
        ],
    ),
    (
        "unknown top-level key",
        GOOD + "basline: true\n",
        (),
        ["study.yaml:6: basline:", "did you mean 'baseline'?"],
    ),
    (
        "wrong type",
        ONLY_INT + "target:\n  tasks: [multiemo]\n  train: {batch_size: lots}\n",
        (),
        ["target.train.batch_size", "valid integer", "'lots'"],
    ),
    (
        "missing required",
        "intermediate: {tasks: [vitaminc]}\ntarget: {tasks: [multiemo]}\n",
        (),
        ["study.yaml: study: required value missing"],
    ),
    (
        "unknown task",
        GOOD.replace("[multiemo]", "[multiemoo]"),
        (),
        ["study.yaml:5: target.tasks[0]: unknown task 'multiemoo'", "did you mean"],
    ),
    (
        "task in the wrong role",
        GOOD.replace("[vitaminc]", "[multiemo]"),
        (),
        ["intermediate.tasks[0]: task 'multiemo' cannot be an intermediate task"],
    ),
    (
        "unknown model format",
        GOOD + "model: 'xlm roberta large'\n",
        (),
        ["study.yaml:6: model:", "is not a model name"],
    ),
    (
        "unknown embedded model",
        GOOD + "model: embedded:e5-huge\n",
        (),
        ["model: unknown embedded model"],
    ),
    (
        "unknown language",
        GOOD + "curate: {languages: [de, xx]}\n",
        (),
        ["curate.languages[1]: unknown language 'xx'"],
    ),
    (
        "boolean where a string is expected",
        GOOD + "curate: {languages: [de, true]}\n",
        (),
        ["curate.languages[1]", "got the boolean True", "quote it"],
    ),
    (
        "negative size",
        GOOD + "curate: {max_train_examples: -5}\n",
        (),
        ["study.yaml:6: curate.max_train_examples: Input should be greater than or equal to 1"],
    ),
    (
        "bad sampling name",
        ONLY_TGT
        + "intermediate:\n  mixtures:\n    m: {tasks: [vitaminc, fever], sampling: temprature}\n",
        (),
        ["intermediate.mixtures.m.sampling", "did you mean 'temperature'?"],
    ),
    ("malformed YAML", GOOD + "target: [multiemo\n", (), ["study.yaml:", "not valid YAML"]),
    (
        "duplicate key",
        GOOD + "study: t2\n",
        (),
        ["study.yaml:6: study: duplicate key (first defined on line 1)"],
    ),
    ("not a mapping", "- a\n- b\n", (), ["study.yaml:1:", "expected a mapping"]),
    (
        "unknown profile",
        GOOD + "profile: xlmr-larg\n",
        (),
        ["study.yaml:6: profile: unknown profile", "'xlmr-large'"],
    ),
    ("bad memory", GOOD + "resources: {target: {mem: lots}}\n", (), ["resources.target.mem"]),
    ("empty seeds", GOOD + "seeds: {target: []}\n", (), ["seeds.target", "at least 1"]),
    (
        "override wrong type",
        GOOD,
        ("target.train.epochs=two",),
        ["command line (-p target.train.epochs=...): target.train.epochs", "'two'"],
    ),
    ("override malformed", GOOD, ("target.train.epochs",), ["is not key.path=value"]),
    (
        "per_task typo in the study",
        ONLY_INT + "target:\n  tasks: [multiemo]\n  per_task: {multiemoo: {epochs: 1}}\n",
        (),
        ["target.per_task.multiemoo: unknown task 'multiemoo'"],
    ),
]


@pytest.mark.parametrize("name,text,overrides,fragments", BAD, ids=[b[0] for b in BAD])
def test_bad_parameter_files(tmp_path, name, text, overrides, fragments):
    msg = error_of(write(tmp_path, text), *overrides)
    for fragment in fragments:
        assert fragment in msg, f"{name}: {fragment!r} not in\n{msg}"
    if not overrides:
        assert "study.yaml" in msg or "command line" in msg


def test_bad_value_in_profile_names_the_profile(tmp_path):
    prof = write(
        tmp_path,
        "model: embedded:multilingual-e5-small\ntarget:\n  train: {lr: -1}\n",
        "myprof.yaml",
    )
    msg = error_of(write(tmp_path, GOOD + f"profile: {prof}\n"))
    assert "myprof.yaml:3: target.train.lr: Input should be greater than 0" in msg


def test_parse_override_values():
    assert parse_override("a.b=1e-5") == (("a", "b"), 1e-5)
    assert parse_override("seeds.target=[1, 2]") == (("seeds", "target"), [1, 2])
    assert parse_override("x=no") == (("x",), "no")
    assert parse_override("x=null") == (("x",), None)


def test_repo_studies_validate():
    root = Path(__file__).resolve().parents[1] / "params"
    for name in ("quick.yaml", "default.yaml"):
        assert load_study(root / name).study.target.tasks
    for profile in ("embedded", "xlmr-large", "mt5-large", "xtreme"):
        assert load_study(root / "default.yaml", profile=profile).study.profile == profile


@pytest.mark.parametrize(
    "stage, section, key, bad",
    [
        ("curate", "curate", "match_sizes", "bytes"),
        ("curate", "curate", "window_length", 4),
        ("curate", "curate", "leakage_threshold", 1.5),
        ("intermediate", "intermediate.train", "mlm_probability", 1.0),
        ("intermediate", "intermediate.per_task.vitaminc", "pooling", "first"),
        ("target", "target.train", "scoring", "dot"),
        ("target", "target.per_task.multiemo", "layer", -1),
        ("analysis", "analysis", "alpha", 0),
    ],
)
def test_every_stage_setting_is_a_study_key_with_its_constraint(tmp_path, stage, section, key, bad):
    """Each study section is generated from its stage config (xstilts.configs): every field the
    grid does not set is a key of the section, and the field's own constraint refuses a bad value
    at that key, before anything runs. One definition: a new config field is a study key."""
    from dataclasses import fields

    from xstilts.configs import GRID_KEYS, STAGE_CONFIGS
    from xstilts.orchestration import params

    model = {
        "curate": params.CurateSection,
        "intermediate": params.IntermediateTrain,
        "target": params.TargetTrain,
        "analysis": params.AnalysisSection,
    }[stage]
    own = {f.name for f in fields(STAGE_CONFIGS[stage])} - GRID_KEYS[stage] - {"train"}
    assert own <= set(model.model_fields)
    assert not GRID_KEYS[stage] & set(model.model_fields)
    msg = error_of(write(tmp_path, GOOD), f"{section}.{key}={bad!r}")
    assert f"{section}.{key}:" in msg, msg


def test_every_training_setting_is_a_study_key_with_its_constraint(tmp_path):
    """The train sections are generated from TrainConfig: each field (the seed aside: the seeds
    section sets it) is a study key, and TrainConfig's own constraint rejects a bad value."""
    from dataclasses import fields

    from xstilts.orchestration.params import IntermediateTrain, TargetTrain
    from xstilts.trainconfig import OPTIMIZERS, TrainConfig

    for section in (IntermediateTrain, TargetTrain):
        assert {f.name for f in fields(TrainConfig)} - {"seed"} <= set(section.model_fields)
        assert "seed" not in section.model_fields
    for key, bad in (("optimizer", "sgd"), ("batch_size", 0), ("warmup_ratio", 1.0)):
        msg = error_of(write(tmp_path, GOOD), f"target.train.{key}={bad}")
        assert f"target.train.{key}:" in msg, msg
    assert all(
        f"'{name}'" in error_of(write(tmp_path, GOOD), "intermediate.train.optimizer=sgd")
        for name in OPTIMIZERS
    )


def test_settings_command_lists_every_stage_and_training_setting_from_its_definition(capsys):
    """`xstilts settings` is generated from the configs: every field a study may set appears
    under its section with its constraint and default, and no grid-set key does."""
    from dataclasses import fields

    from xstilts.cli import main
    from xstilts.configs import GRID_KEYS, STAGE_CONFIGS, TargetConfig
    from xstilts.trainconfig import TrainConfig

    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    sections = {}
    for block in out.split("\n\n") if "\n\n" in out else [out]:
        for line in block.splitlines():
            if line and not line.startswith(" ") and line.endswith(":"):
                current = sections.setdefault(line[:-1].split(" /")[0], [])
            elif line.startswith("  "):
                current.append(line.split()[0])
    for stage, section in (
        ("curate", "curate"),
        ("intermediate", "intermediate.train"),
        ("target", "target.train"),
        ("analysis", "analysis"),
    ):
        own = [f.name for f in fields(STAGE_CONFIGS[stage]) if f.name not in GRID_KEYS[stage]]
        own = [name for name in own if name != "train"]
        if stage in ("intermediate", "target"):
            own += [f.name for f in fields(TrainConfig) if f.name != "seed"]
        assert sorted(sections[section]) == sorted(own), section
    assert "  scoring" in out and "'cosine' | 'margin'  default 'cosine'" in out
    assert f"default {TargetConfig().train.lr!r}" in out


def test_more_than_one_gpu_per_stage_is_refused_before_anything_runs(tmp_path):
    """No data parallelism: a second GPU would sit idle while the Slurm job holds it."""
    root = Path(__file__).resolve().parents[1] / "params"
    with pytest.raises(ParamsError, match="2 GPUs: a stage trains on one device"):
        load_study(root / "quick.yaml", ["resources.target.gpus=2"])
    assert load_study(root / "quick.yaml", ["resources.target.gpus=1"])


def test_per_task_resources_apply_to_that_tasks_runs_and_a_typo_is_refused():
    """resources.per_task.<task> layers over the stage's resources for that task's runs only."""
    from xstilts.orchestration.grid import expand

    root = Path(__file__).resolve().parents[1] / "params"
    resolved = load_study(
        root / "quick.yaml", ["resources.target.time=02:00:00", "resources.per_task.icd10.mem=30G"]
    )
    runs = {r.stage: r.resources for r in expand(resolved).runs}
    assert runs["target"]["mem"] == "30G" and runs["target"]["time"] == "02:00:00"
    assert runs["intermediate"]["mem"] == "8G"  # the default: icd10's setting is its own
    with pytest.raises(ParamsError, match="'icd01' is not a task or mixture of this study"):
        load_study(root / "quick.yaml", ["resources.per_task.icd01.mem=30G"])
