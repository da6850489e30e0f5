"""Curate stage: every task into its format's row schema, matched sizes, leakage audit, manifest.

Order of work: check the config against the catalogue; load and validate every row (nothing is
written before all of it passed); choose target splits (the same held-out test ids in every
language where the task is parallel, disjoint from its train/dev); audit intermediate pools
against every chosen target split and drop leaking items; subsample the intermediate tasks to a
common size; write splits, ``leakage.json``, ``profile.csv`` and, last, ``manifest.json``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from ..assets.fetch import AssetError
from ..configs import CurateConfig
from ..data import store
from ..data.confounds import describe, design_confounds
from ..data.leakage import audit, row_text, source_family, text_hash
from ..data.manifest import split_entry, task_entry
from ..data.matching import matched_samples, smallest_pool, usage
from ..data.profile import domain_profile, study_tokenizer
from ..data.subsample import ranked, stratified_sample
from ..io import atomic_path, write_json
from ..languages import languages_without_data
from ..tasks.embedded import hash_split
from ..tasks.hub.loading import hub_snapshots
from ..tasks.protocol import mining_task, training_phases
from ..tasks.registry import TaskSpec, UnknownTaskError, get_task, option_problems
from ..tasks.schema import Format, validate_row

log = logging.getLogger(__name__)


def _resolved(config: CurateConfig) -> CurateConfig:
    """Apply ``tasks`` / ``model`` / ``max_*`` onto the primary fields."""
    cfg = dataclasses.replace(config)
    if cfg.tasks is not None:
        specs = [_spec(name, "tasks") for name in cfg.tasks]
        cfg.intermediate_tasks = [s.name for s in specs if "intermediate" in s.roles]
        cfg.target_tasks = [s.name for s in specs if "target" in s.roles]
    if cfg.model:
        cfg.tokenizer = cfg.model
    for cap, names in (
        ("max_train_examples", ("n_intermediate", "n_target_train")),
        ("max_eval_examples", ("n_intermediate_dev", "n_target_dev")),
        ("max_test_examples", ("n_target_test", "max_retrieval_items")),
    ):
        if getattr(cfg, cap) is not None:
            for name in names:
                size = getattr(cfg, name)
                setattr(
                    cfg,
                    name,
                    getattr(cfg, cap) if size is None else min(size, getattr(cfg, cap)),
                )
    return cfg


class CurateError(ValueError):
    """The curate config or a task's data is not usable."""


def _task_language_list(value: list[str] | str, task: str) -> set[str]:
    from ..languages import UnknownLanguageError, resolve_language_list

    try:
        return set(resolve_language_list(value))
    except UnknownLanguageError as err:
        raise CurateError(f"curate config field 'task_languages.{task}': {err}") from None


class _TaskUnavailable(Exception):
    """A task of the study cannot be curated (its data cannot be had, or it has no usable test
    rows). Every such task is named, then curate fails: it is never DONE with a task missing."""


def _spec(name: str, key: str) -> TaskSpec:
    try:
        return get_task(name)
    except UnknownTaskError as err:
        raise CurateError(f"curate config field {key!r}: {err}") from None


def _check(
    cfg: CurateConfig, paths: bool = True
) -> tuple[dict[str, TaskSpec], dict[str, TaskSpec], dict[str, list[str]]]:
    curated = {*cfg.intermediate_tasks, *cfg.target_tasks}
    for task, opts in cfg.task_options.items():  # paths only for the tasks curated here
        if why := option_problems(task, opts, paths=paths and task in curated):
            raise CurateError(f"curate config field 'task_options.{task}': {'; '.join(why)}")
    inter = {n: _spec(n, "intermediate_tasks") for n in cfg.intermediate_tasks}
    targets = {n: _spec(n, "target_tasks") for n in cfg.target_tasks}
    for key, specs, role in (
        ("intermediate_tasks", inter, "intermediate"),
        ("target_tasks", targets, "target"),
    ):
        for spec in specs.values():
            if role not in spec.roles:
                raise CurateError(
                    f"curate config field {key!r}: task {spec.name!r} has roles {spec.roles}, "
                    f"not {role!r}"
                )
            if not spec.available or spec.loader is None:
                raise CurateError(
                    f"curate config field {key!r}: task {spec.name!r} has no data loader "
                    f"({spec.source.kind}: {spec.source.note or spec.source.id})"
                )
    for spec in inter.values():
        if spec.format is Format.RETRIEVAL:
            raise CurateError(
                f"curate config field 'intermediate_tasks': {spec.name!r} is a retrieval task"
            )
    return inter, targets, _target_languages(cfg, targets)


def _target_languages(cfg: CurateConfig, targets: dict[str, TaskSpec]) -> dict[str, list[str]]:
    """Each target's evaluation languages: its own, narrowed by ``languages`` and
    ``task_languages``; English is left out of retrieval targets (it is every pair's other side)."""
    for name in cfg.task_languages:
        if name not in targets:
            raise CurateError(
                f"curate config field 'task_languages': {name!r} is not a target task "
                f"({', '.join(targets) or 'none configured'})"
            )
    if cfg.languages is not None:
        known = {x for spec in targets.values() for x in spec.languages}
        missing = [x for x in cfg.languages if x not in known]
        if missing:
            raise CurateError(
                f"curate config field 'languages': {missing} not in any target task "
                f"({', '.join(targets) or 'none configured'})"
            )
    out = {}
    for spec in targets.values():
        chosen = spec.curated_languages(
            cfg.languages,
            _task_language_list(cfg.task_languages[spec.name], spec.name)
            if spec.name in cfg.task_languages
            else None,
        )
        # languages only the task's own files have (the dry run names them): not evaluated
        lacking = languages_without_data(spec.name, cfg.task_options.get(spec.name))
        out[spec.name] = [x for x in chosen if x not in lacking]
    return out


def _load(cfg: CurateConfig, spec: TaskSpec, split: str, lang: str) -> list[dict]:
    opts = dict(cfg.task_options.get(spec.name, {}))  # e.g. {"udhr": {"min_articles": 20}}
    where = f"task {spec.name!r} split {split}.{lang} ({spec.source.kind} {spec.source.id} {spec.source.config or ''})"
    try:
        rows = spec.loader(split, lang, **opts)
    except AssetError as err:
        raise _TaskUnavailable(str(err)) from err
    seen: set = set()
    for i, row in enumerate(rows):
        validate_row(
            row,
            spec.format,
            where=f"{where} row {i}",
            n_labels=spec.n_labels,
            allow_unlabelled=split in spec.unlabelled_splits,
        )
        if row["id"] in seen:
            raise CurateError(f"{where} row {i}: field 'id' {row['id']!r} repeats")
        seen.add(row["id"])
    return rows


def _dev_pool(
    cfg: CurateConfig, spec: TaskSpec, train: list[dict], holdout: bool = True
) -> tuple[list[dict], list[dict]]:
    """(train, validation) pools; a task without a validation split gives 10 % of train (id
    hash), held out of train unless ``holdout`` is false (then train keeps every row)."""
    if "validation" in spec.splits:
        return train, _load(cfg, spec, "validation", "en")
    dev = [
        r
        for r in train
        if hash_split(str(r["id"]), "dev-" + spec.name, (0.9, 0.1, 0.0)) == "validation"
    ]
    if not dev and len(train) >= 2:  # a small pool: 10 % may round to nothing; keep one dev row
        dev = ranked(train, 0)[:1]
    if not holdout:
        return train, dev
    dev_ids = {r["id"] for r in dev}
    return [r for r in train if r["id"] not in dev_ids], dev


def _test_split(spec: TaskSpec) -> str:
    return "test" if "test" in spec.splits else "validation"


def _select_tests(
    cfg: CurateConfig, pools: dict[str, list[dict]], exclude: set[str]
) -> tuple[dict, bool]:
    """The same ids in every language if the pools share enough ids, else per-language samples."""
    pools = {
        lang: [r for r in rows if r["id"] not in exclude and text_hash(row_text(r)) not in exclude]
        for lang, rows in pools.items()
    }
    pools = {lang: rows for lang, rows in pools.items() if rows}
    if not pools:
        return {}, False
    common = set.intersection(*({r["id"] for r in rows} for rows in pools.values()))
    want = min(len(rows) for rows in pools.values())
    want = want if cfg.n_target_test is None else min(cfg.n_target_test, want)
    if len(pools) > 1 and len(common) >= want:
        pivot = pools["en"] if "en" in pools else next(iter(pools.values()))
        ids = {
            r["id"]
            for r in stratified_sample([r for r in pivot if r["id"] in common], want, cfg.seed)
        }
        return {
            lang: [r for r in ranked(rows, cfg.seed) if r["id"] in ids]
            for lang, rows in pools.items()
        }, True
    return {
        lang: stratified_sample(rows, cfg.n_target_test, cfg.seed) for lang, rows in pools.items()
    }, False


def _select_retrieval(cfg: CurateConfig, pools: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Per language up to ``max_retrieval_items`` pairs, by one seeded id ranking (so languages
    that share ids keep the same items)."""
    chosen = {
        lang: ranked(rows, cfg.seed)[: cfg.max_retrieval_items] for lang, rows in pools.items()
    }
    return {lang: rows for lang, rows in chosen.items() if rows}


def _with_english(cfg: CurateConfig, spec: TaskSpec, split: str, pools: dict) -> dict:
    """Give every retrieval row its English side (``english``). Hub pairs carry it; tasks whose
    English is a language of its own (UDHR, MultiEmo) are joined on the shared id."""
    if all("english" in r for rows in pools.values() for r in rows):
        return pools
    english = {r["id"]: r["text"] for r in _load(cfg, spec, split, "en")}
    return {
        lang: [{**r, "english": english[r["id"]]} for r in rows if r["id"] in english]
        for lang, rows in pools.items()
    }


Chosen = dict[tuple[str, str, str | None], tuple[list[dict], TaskSpec]]


def _training_rows(
    cfg: CurateConfig, spec: TaskSpec, tests: dict[str, list[dict]]
) -> tuple[Chosen, list[dict]]:
    """The English train/dev rows of every protocol phase (``xstilts.tasks.protocol``), each row
    tagged with its phase's training task. Rows that are test items (same id or text; XQuAD's
    items are SQuAD dev items) are left out, so the test set stays whole as the protocol has it."""
    test_keys = {
        k for rows in tests.values() for r in rows for k in (r["id"], text_hash(row_text(r)))
    }
    train_all, dev_all, phases = [], [], []
    for phase in training_phases(spec.name):
        source = _spec(phase.train, f"protocol of {spec.name}")
        if "train" not in source.splits:
            raise CurateError(
                f"target {spec.name!r}: its training task {source.name!r} has no train split"
            )
        train, dev = _dev_pool(
            cfg, source, _load(cfg, source, "train", "en"), cfg.target_dev_holdout
        )
        if phase.dev != phase.train:
            dev = _load(cfg, _spec(phase.dev, f"protocol of {spec.name}"), "validation", "en")
        for pool, n, out in (
            (train, cfg.n_target_train, train_all),
            (dev, cfg.n_target_dev, dev_all),
        ):
            if out is dev_all or cfg.target_train_avoids_test:  # dev is never a test item
                pool = [
                    r
                    for r in pool
                    if r["id"] not in test_keys and text_hash(row_text(r)) not in test_keys
                ]
            out.extend({**r, "phase": phase.train} for r in stratified_sample(pool, n, cfg.seed))
        phases.append({"train": phase.train, "dev": phase.dev})
    last = _spec(training_phases(spec.name)[-1].train, "protocol")
    chosen: Chosen = {
        (spec.name, "train", None): (train_all, last),
        (spec.name, "validation", None): (dev_all, last),
    }
    return chosen, phases


def _curate_target(
    cfg: CurateConfig, spec: TaskSpec, langs: list[str], notes: list[str]
) -> tuple[Chosen, dict]:
    """One target's curated splits: ``{(task, split, lang): (rows, spec of their source)}``.
    The test items are chosen first; the English training data then avoids them."""
    if spec.format is Format.RETRIEVAL and mining_task(spec.name):
        return _curate_mining(cfg, spec, langs, notes)
    split = _test_split(spec)
    pools = {lang: _load(cfg, spec, split, lang) for lang in langs}
    if spec.format is Format.RETRIEVAL:
        tests, parallel = _select_retrieval(cfg, _with_english(cfg, spec, split, pools)), None
    else:
        tests, parallel = _select_tests(cfg, pools, set())
    notes.extend(f"{lang}: no usable {split} rows (skipped)" for lang in langs if lang not in tests)
    if not tests:
        raise _TaskUnavailable(f"no language with usable {split} rows")
    chosen: Chosen = {(spec.name, "test", lang): (rows, spec) for lang, rows in tests.items()}
    info: dict = {"training": [], "parallel": parallel}
    if spec.format is not Format.RETRIEVAL:
        training, info["training"] = _training_rows(cfg, spec, tests)
        chosen.update(training)
    if parallel is False:
        notes.append("test items differ per language (the source is not parallel)")
    if split != "test":
        notes.append(f"test.<lang> files hold the source's {split} split")
    return chosen, info


def _curate_mining(
    cfg: CurateConfig, spec: TaskSpec, langs: list[str], notes: list[str]
) -> tuple[Chosen, dict]:
    """BUCC-style mining: every sentence of both sides (gold pairs and distractors) of the dev
    (sample) and test sets, never subsampled: dropping distractors would change the task."""
    chosen: Chosen = {}
    for lang in langs:
        for split in ("validation", "test"):
            chosen[(spec.name, split, lang)] = (_load(cfg, spec, split, lang), spec)
    notes.append("mining sets kept whole (no max_retrieval_items / n_target_test cap)")
    return chosen, {"training": [], "parallel": None}


def planned_loads(cfg: CurateConfig) -> list[tuple[TaskSpec, str, str]]:
    """Every (task, split, language) load a run of ``cfg`` makes, without loading anything: what
    ``xstilts fetch`` fetches. It follows _curate_target, _curate_mining, _with_english,
    _training_rows and _intermediate_pools; tests/test_prefetch.py checks it against the loads
    of a real curate run."""
    cfg = _resolved(cfg)
    inter, targets, languages = _check(cfg, paths=False)  # a task's own files are not fetched
    loads = []
    for name, spec in targets.items():
        langs = languages[name]
        if spec.format is Format.RETRIEVAL and mining_task(name):
            loads += [(spec, split, lang) for lang in langs for split in ("validation", "test")]
            continue
        split = _test_split(spec)
        loads += [(spec, split, lang) for lang in langs]
        if spec.format is Format.RETRIEVAL:  # its English side, where the rows lack one
            loads += [(spec, split, "en")] if "en" in spec.languages else []
            continue
        for phase in training_phases(name):
            source = _spec(phase.train, f"protocol of {name}")
            loads.append((source, "train", "en"))
            dev = source if phase.dev == phase.train else _spec(phase.dev, "protocol")
            if "validation" in dev.splits:
                loads.append((dev, "validation", "en"))
    for spec in inter.values():
        loads.append((spec, "train", "en"))
        if "validation" in spec.splits:
            loads.append((spec, "validation", "en"))
    return loads


def _english_side(written: dict, task: str) -> list[dict]:
    """A target's English text for the domain profile: its English training rows, else the
    English sides of its test pairs (retrieval targets), each text once."""
    if rows := written.get((task, "train", None)):
        return rows
    english: dict[str, dict] = {}
    for (name, split, lang), rows in written.items():
        if name == task and split == "test" and lang is not None:
            for r in rows:
                if r.get("english"):
                    english.setdefault(r["english"], {"id": r["id"], "text": r["english"]})
    return list(english.values())


def run(config: CurateConfig | dict | None, out_dir: str | Path) -> dict:
    """Curate into ``out_dir`` (layout in docs/architecture.md); return the manifest."""
    cfg = config if isinstance(config, CurateConfig) else CurateConfig.from_dict(config)
    cfg = _resolved(cfg)
    out_dir = Path(out_dir)
    inter_specs, target_specs, languages = _check(cfg)
    with hub_snapshots(cfg.hub_snapshots):
        return _run(cfg, out_dir, inter_specs, target_specs, languages)


def _run(cfg, out_dir, inter_specs, target_specs, languages) -> dict:
    tokenizer = study_tokenizer(cfg.tokenizer)
    skipped: list[str] = []
    notes: dict[str, list[str]] = {}
    # Targets first: their chosen splits are what intermediate data must not leak into.
    written, split_specs, target_info = _curate_targets(
        cfg, target_specs, languages, notes, skipped
    )
    # Audited against: every target's test and dev text. Its English training rows are not test
    # items; an intermediate that is a target's training source is a design confound, named
    # (data/confounds.py), and its rows that are that target's dev items are kept.
    targets = {
        (task, f"test.{lang}" if lang else split): rows
        for (task, split, lang), rows in written.items()
        if split != "train"
    }
    pools = _intermediate_pools(cfg, inter_specs, skipped)
    if skipped:  # a study never goes on without one of its tasks (curate would be DONE without it)
        raise CurateError("curate cannot prepare every task of the study:\n" + "\n".join(skipped))
    families = {s.name: source_family(s) for s in [*inter_specs.values(), *target_specs.values()]}
    confounds = design_confounds(list(inter_specs), list(target_specs))
    cleaned, leakage = audit(
        pools,
        targets,
        n=cfg.leakage_ngram,
        threshold=cfg.leakage_threshold,
        contained=cfg.leakage_containment,
        families=families,
        confounded=_own_dev_splits(confounds),
    )
    _refuse_emptied(cleaned, leakage)
    chosen, sizes = _choose_intermediate(cfg, cleaned, inter_specs, tokenizer, notes)
    written |= chosen
    # Write everything, then the reports, then the manifest.
    specs = {**target_specs, **inter_specs}
    manifest: dict = {
        "config": dataclasses.asdict(cfg),
        "tokenizer": cfg.tokenizer,
        "skipped": skipped,
        "tasks": {},
    }
    for (task, split, lang), rows in sorted(
        written.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
    ):
        entry = manifest["tasks"].setdefault(task, task_entry(specs[task]))
        entry["notes"] = notes.get(task, [])
        entry.update(target_info.get(task, {}))
        if task in sizes:  # what the matching rule gave this intermediate task
            entry["training_size"] = sizes[task]
        path = store.write_split(out_dir, task, split, rows, lang)
        entry["splits"][f"{split}.{lang}" if lang else split] = split_entry(
            path, rows, split_specs.get((task, split, lang), specs[task]), tokenizer
        )
    write_json(out_dir / "leakage.json", leakage)
    _write_profile(out_dir, written, inter_specs, target_specs, specs, tokenizer)
    manifest["leakage"] = {"removed": leakage["removed"], "unexpected_pairs": leakage["unexpected"]}
    manifest["confounds"] = [{**c, "note": describe(c)} for c in confounds]
    write_json(out_dir / "manifest.json", manifest)
    return manifest


def _own_dev_splits(confounds: list[dict]) -> dict[str, set[tuple[str, str]]]:
    """Intermediate task -> the dev splits of the targets it is a training source of."""
    out: dict[str, set[tuple[str, str]]] = {}
    for c in confounds:
        out.setdefault(c["intermediate"], set()).add((c["target"], "validation"))
    return out


def _refuse_emptied(cleaned: dict, leakage: dict) -> None:
    """No intermediate split may be emptied by the audit: training on nothing is not a study."""
    empty = [
        f"{task}/{split}: all {leakage['removed'][f'{task}/{split}']['before']} rows match "
        "target test or dev text (leakage.json lists the pairs)"
        for (task, split), rows in cleaned.items()
        if not rows and leakage["removed"][f"{task}/{split}"]["before"]
    ]
    if empty:
        raise CurateError("the leakage audit left intermediate splits empty:\n" + "\n".join(empty))


def _skip(spec, err: Exception, skipped: list[str]) -> None:
    """Note a task that cannot be curated; every such task is named, then curate fails."""
    line = f"task {spec.name!r}: {err}"
    log.error(line)
    skipped.append(line)


def _curate_targets(cfg, target_specs, languages, notes, skipped) -> tuple[dict, dict, dict]:
    """Every target's chosen splits: (task, split, lang) -> rows, the spec each split came from
    (a protocol phase's source), and each target's manifest facts."""
    written: dict[tuple[str, str, str | None], list[dict]] = {}
    split_specs: dict[tuple[str, str, str | None], TaskSpec] = {}
    target_info: dict[str, dict] = {}
    for spec in target_specs.values():
        notes[spec.name] = []
        try:
            chosen, info = _curate_target(cfg, spec, languages[spec.name], notes[spec.name])
        except _TaskUnavailable as err:
            _skip(spec, err, skipped)
            continue
        for key, (rows, source_spec) in chosen.items():
            written[key], split_specs[key] = rows, source_spec
        target_info[spec.name] = info
    return written, split_specs, target_info


def _intermediate_pools(cfg, inter_specs, skipped) -> dict[tuple[str, str], list[dict]]:
    """Each intermediate task's train and dev pools, before the leakage audit and sampling."""
    pools: dict[tuple[str, str], list[dict]] = {}
    for spec in inter_specs.values():
        try:
            train, dev = _dev_pool(cfg, spec, _load(cfg, spec, "train", "en"))
            pools[(spec.name, "train")], pools[(spec.name, "validation")] = train, dev
        except _TaskUnavailable as err:
            _skip(spec, err, skipped)
    return pools


def _choose_intermediate(cfg, cleaned, inter_specs, tokenizer, notes) -> tuple[dict, dict]:
    """The audited pools cut to the study's sizes: training sets matched across tasks
    (``match_sizes``), dev sets stratified; and what the matching gave each task."""
    trains = {
        t: (rows, inter_specs[t].format) for (t, split), rows in cleaned.items() if split == "train"
    }
    window = (cfg.window_length, cfg.window_stride)
    try:
        matched = matched_samples(
            trains, cfg.n_intermediate, cfg.match_sizes, cfg.seed, tokenizer, *window
        )
    except ValueError as err:
        raise CurateError(f"curate.match_sizes: {err}") from err
    written: dict[tuple[str, str, str | None], list[dict]] = {}
    sizes: dict[str, dict] = {}
    for (task, split), rows in cleaned.items():
        n = cfg.n_intermediate if split == "train" else cfg.n_intermediate_dev
        if split == "train":
            chosen = matched[task]
            use = usage(chosen, inter_specs[task].format, tokenizer, *window)
            sizes[task] = {"match": cfg.match_sizes, **use}
        else:
            chosen = stratified_sample(rows, n, cfg.seed)
        short = n is not None and len(chosen) < n
        if short and (split != "train" or cfg.match_sizes == "examples"):
            notes.setdefault(task, []).append(
                f"{split}: {len(chosen)} rows, fewer than the requested {n}"
                + (_matched_to(trains, task) if split == "train" else "")
            )
        written[(task, split, None)] = chosen
    return written, sizes


def _matched_to(trains: dict, task: str) -> str:
    """Why a training set under ``examples`` is short: its own pool, or the smallest task's."""
    smallest, size = smallest_pool(trains)
    if smallest == task:
        return " (its whole training pool; the other tasks are cut to the same size)"
    return f" (matched to {smallest}, the smallest task, with {size})"


def _write_profile(out_dir, written, inter_specs, target_specs, specs, tokenizer) -> None:
    """``profile.csv``: the domain profile of the intermediate training sets, the targets'
    English sides and every test language."""
    profile = domain_profile(
        {
            task: rows
            for (task, split, _), rows in written.items()
            if split == "train" and task in inter_specs
        },
        {t: side for t in target_specs if (side := _english_side(written, t))},
        {  # the language's own text only (a retrieval pair's English side is not that language)
            (task, lang): [{k: v for k, v in r.items() if k != "english"} for r in rows]
            for (task, split, lang), rows in written.items()
            if lang is not None and split == "test"
        },
        tokenizer,
        domains={n: s.domain for n, s in specs.items()},
    )
    with atomic_path(out_dir / "profile.csv") as tmp:
        profile.to_csv(tmp, index=False, float_format="%.6g")
