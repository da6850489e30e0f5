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
    assert L.get_language("hi").script == "Deva"
    assert L.get_language("zh").script == "Hans"
    assert L.get_language("fi").family == "Uralic"
    assert L.get_language("sw").name == "Swahili"
    with pytest.raises(L.UnknownLanguageError, match="'zho' is 'zh'"):
        L.get_language("zho")


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
