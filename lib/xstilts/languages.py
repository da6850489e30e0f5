"""THE language table: ISO codes, names, scripts, families, and every task's language list.

One canonical place (in the style of google-research/xtreme ``evaluate.py``'s ``TASK2LANGS``):
task modules import their languages from here and never retype them.

* ``LANGUAGES``: ISO 639-1 code -> ``Language`` (ISO 639-3, name, ISO 15924 script, family, genus).
* ``TASK_LANGUAGES``: task -> languages, as the benchmark defines them (XTREME, XTREME-R, MultiEmo,
  MultiEURLEX).
* ``ISO3_TO_ISO1``: ISO 639-3 -> ISO 639-1, so that an error can name the code meant.
"""

from __future__ import annotations

from dataclasses import dataclass

# fmt: off
# iso1 | iso3 | name | script (ISO 15924) | family | genus (WALS-style, as in the XTREME paper)
_TABLE = """
af|afr|Afrikaans|Latn|Indo-European|Germanic
ar|ara|Arabic|Arab|Afro-Asiatic|Semitic
az|aze|Azerbaijani|Latn|Turkic|Turkic
bg|bul|Bulgarian|Cyrl|Indo-European|Slavic
bn|ben|Bengali|Beng|Indo-European|Indic
cs|ces|Czech|Latn|Indo-European|Slavic
da|dan|Danish|Latn|Indo-European|Germanic
de|deu|German|Latn|Indo-European|Germanic
el|ell|Greek|Grek|Indo-European|Greek
en|eng|English|Latn|Indo-European|Germanic
es|spa|Spanish|Latn|Indo-European|Romance
et|est|Estonian|Latn|Uralic|Finnic
eu|eus|Basque|Latn|Basque|Basque
fa|fas|Persian|Arab|Indo-European|Iranian
fi|fin|Finnish|Latn|Uralic|Finnic
fr|fra|French|Latn|Indo-European|Romance
gu|guj|Gujarati|Gujr|Indo-European|Indic
he|heb|Hebrew|Hebr|Afro-Asiatic|Semitic
hi|hin|Hindi|Deva|Indo-European|Indic
hr|hrv|Croatian|Latn|Indo-European|Slavic
ht|hat|Haitian Creole|Latn|Creole|French-based
hu|hun|Hungarian|Latn|Uralic|Ugric
id|ind|Indonesian|Latn|Austronesian|Malayo-Sumbawan
it|ita|Italian|Latn|Indo-European|Romance
ja|jpn|Japanese|Jpan|Japonic|Japanese
jv|jav|Javanese|Latn|Austronesian|Javanese
ka|kat|Georgian|Geor|Kartvelian|Kartvelian
kk|kaz|Kazakh|Cyrl|Turkic|Turkic
ko|kor|Korean|Kore|Koreanic|Korean
lt|lit|Lithuanian|Latn|Indo-European|Baltic
lv|lav|Latvian|Latn|Indo-European|Baltic
ml|mal|Malayalam|Mlym|Dravidian|Southern Dravidian
mr|mar|Marathi|Deva|Indo-European|Indic
ms|msa|Malay|Latn|Austronesian|Malayo-Sumbawan
mt|mlt|Maltese|Latn|Afro-Asiatic|Semitic
my|mya|Burmese|Mymr|Sino-Tibetan|Burmese-Lolo
nl|nld|Dutch|Latn|Indo-European|Germanic
pa|pan|Punjabi|Guru|Indo-European|Indic
pl|pol|Polish|Latn|Indo-European|Slavic
pt|por|Portuguese|Latn|Indo-European|Romance
qu|que|Quechua|Latn|Quechuan|Quechuan
ro|ron|Romanian|Latn|Indo-European|Romance
ru|rus|Russian|Cyrl|Indo-European|Slavic
sk|slk|Slovak|Latn|Indo-European|Slavic
sl|slv|Slovenian|Latn|Indo-European|Slavic
sv|swe|Swedish|Latn|Indo-European|Germanic
sw|swa|Swahili|Latn|Niger-Congo|Bantoid
ta|tam|Tamil|Taml|Dravidian|Southern Dravidian
te|tel|Telugu|Telu|Dravidian|South-Central Dravidian
th|tha|Thai|Thai|Tai-Kadai|Kam-Tai
tl|tgl|Tagalog|Latn|Austronesian|Greater Central Philippine
tr|tur|Turkish|Latn|Turkic|Turkic
uk|ukr|Ukrainian|Cyrl|Indo-European|Slavic
ur|urd|Urdu|Arab|Indo-European|Indic
vi|vie|Vietnamese|Latn|Austro-Asiatic|Viet-Muong
wo|wol|Wolof|Latn|Niger-Congo|Northern Atlantic
yo|yor|Yoruba|Latn|Niger-Congo|Defoid
zh|zho|Chinese|Hans|Sino-Tibetan|Chinese
aa|aar|Afar|Latn|Afro-Asiatic|Cushitic
ab|abk|Abkhaz|Cyrl|Northwest Caucasian|Abkhaz-Adyge
ak|aka|Akan|Latn|Niger-Congo|Kwa
am|amh|Amharic|Ethi|Afro-Asiatic|Semitic
ay|aym|Aymara|Latn|Aymaran|Aymaran
be|bel|Belarusian|Cyrl|Indo-European|Slavic
bi|bis|Bislama|Latn|Creole|English-based
bm|bam|Bambara|Latn|Mande|Western Mande
bo|bod|Tibetan|Tibt|Sino-Tibetan|Bodic
br|bre|Breton|Latn|Indo-European|Celtic
bs|bos|Bosnian|Latn|Indo-European|Slavic
ca|cat|Catalan|Latn|Indo-European|Romance
ch|cha|Chamorro|Latn|Austronesian|Chamorro
co|cos|Corsican|Latn|Indo-European|Romance
cv|chv|Chuvash|Cyrl|Turkic|Turkic
cy|cym|Welsh|Latn|Indo-European|Celtic
dv|div|Dhivehi|Thaa|Indo-European|Indic
dz|dzo|Dzongkha|Tibt|Sino-Tibetan|Bodic
ee|ewe|Ewe|Latn|Niger-Congo|Kwa
eo|epo|Esperanto|Latn|Constructed|Constructed
fj|fij|Fijian|Latn|Austronesian|Oceanic
fo|fao|Faroese|Latn|Indo-European|Germanic
fy|fry|Western Frisian|Latn|Indo-European|Germanic
ga|gle|Irish|Latn|Indo-European|Celtic
gd|gla|Scottish Gaelic|Latn|Indo-European|Celtic
gl|glg|Galician|Latn|Indo-European|Romance
gn|grn|Guarani|Latn|Tupian|Tupi-Guarani
gv|glv|Manx|Latn|Indo-European|Celtic
ha|hau|Hausa|Latn|Afro-Asiatic|Chadic
hy|hye|Armenian|Armn|Indo-European|Armenian
ia|ina|Interlingua|Latn|Constructed|Constructed
ig|ibo|Igbo|Latn|Niger-Congo|Igboid
ii|iii|Nuosu|Yiii|Sino-Tibetan|Burmese-Lolo
io|ido|Ido|Latn|Constructed|Constructed
is|isl|Icelandic|Latn|Indo-European|Germanic
iu|iku|Inuktitut|Cans|Eskimo-Aleut|Eskimo
kg|kon|Kongo|Latn|Niger-Congo|Bantoid
kl|kal|Greenlandic|Latn|Eskimo-Aleut|Eskimo
km|khm|Khmer|Khmr|Austro-Asiatic|Khmer
kn|kan|Kannada|Knda|Dravidian|Southern Dravidian
kr|kau|Kanuri|Latn|Nilo-Saharan|Saharan
ku|kur|Kurdish|Latn|Indo-European|Iranian
ky|kir|Kyrgyz|Cyrl|Turkic|Turkic
la|lat|Latin|Latn|Indo-European|Italic
lb|ltz|Luxembourgish|Latn|Indo-European|Germanic
lg|lug|Ganda|Latn|Niger-Congo|Bantoid
ln|lin|Lingala|Latn|Niger-Congo|Bantoid
lo|lao|Lao|Laoo|Tai-Kadai|Kam-Tai
mg|mlg|Malagasy|Latn|Austronesian|Barito
mh|mah|Marshallese|Latn|Austronesian|Oceanic
mi|mri|Maori|Latn|Austronesian|Oceanic
mk|mkd|Macedonian|Cyrl|Indo-European|Slavic
mn|mon|Mongolian|Cyrl|Mongolic|Mongolic
nb|nob|Norwegian Bokmal|Latn|Indo-European|Germanic
ne|nep|Nepali|Deva|Indo-European|Indic
ng|ndo|Ndonga|Latn|Niger-Congo|Bantoid
nn|nno|Norwegian Nynorsk|Latn|Indo-European|Germanic
nr|nbl|South Ndebele|Latn|Niger-Congo|Bantoid
nv|nav|Navajo|Latn|Na-Dene|Athapaskan
ny|nya|Chichewa|Latn|Niger-Congo|Bantoid
oc|oci|Occitan|Latn|Indo-European|Romance
om|orm|Oromo|Latn|Afro-Asiatic|Cushitic
os|oss|Ossetian|Cyrl|Indo-European|Iranian
ps|pus|Pashto|Arab|Indo-European|Iranian
rm|roh|Romansh|Latn|Indo-European|Romance
rn|run|Kirundi|Latn|Niger-Congo|Bantoid
rw|kin|Kinyarwanda|Latn|Niger-Congo|Bantoid
sa|san|Sanskrit|Deva|Indo-European|Indic
sc|srd|Sardinian|Latn|Indo-European|Romance
se|sme|Northern Sami|Latn|Uralic|Saami
sg|sag|Sango|Latn|Creole|Ngbandi-based
si|sin|Sinhala|Sinh|Indo-European|Indic
sm|smo|Samoan|Latn|Austronesian|Oceanic
sn|sna|Shona|Latn|Niger-Congo|Bantoid
so|som|Somali|Latn|Afro-Asiatic|Cushitic
sr|srp|Serbian|Cyrl|Indo-European|Slavic
ss|ssw|Swati|Latn|Niger-Congo|Bantoid
st|sot|Sesotho|Latn|Niger-Congo|Bantoid
su|sun|Sundanese|Latn|Austronesian|Sundanese
tg|tgk|Tajik|Cyrl|Indo-European|Iranian
ti|tir|Tigrinya|Ethi|Afro-Asiatic|Semitic
tk|tuk|Turkmen|Latn|Turkic|Turkic
tn|tsn|Tswana|Latn|Niger-Congo|Bantoid
to|ton|Tongan|Latn|Austronesian|Oceanic
ts|tso|Tsonga|Latn|Niger-Congo|Bantoid
tt|tat|Tatar|Cyrl|Turkic|Turkic
ty|tah|Tahitian|Latn|Austronesian|Oceanic
ug|uig|Uyghur|Arab|Turkic|Turkic
uz|uzb|Uzbek|Latn|Turkic|Turkic
ve|ven|Venda|Latn|Niger-Congo|Bantoid
wa|wln|Walloon|Latn|Indo-European|Romance
xh|xho|Xhosa|Latn|Niger-Congo|Bantoid
yi|yid|Yiddish|Hebr|Indo-European|Germanic
za|zha|Zhuang|Latn|Tai-Kadai|Kam-Tai
zu|zul|Zulu|Latn|Niger-Congo|Bantoid
"""

# ISO 639-3 individual languages (and UDHR file heads) inside a macrolanguage -> ISO 639-1.
_ISO3_ALIASES = {
    "arb": "ar", "azj": "az", "ayr": "ay", "cmn": "zh", "ekk": "et", "fat": "ak", "twi": "ak",
    "gaz": "om", "gug": "gn", "ike": "iu", "khk": "mn", "kmr": "ku", "kng": "kg", "knc": "kr",
    "lvs": "lv", "npi": "ne", "pbu": "ps", "pes": "fa", "prs": "fa", "plt": "mg", "quz": "qu",
    "qud": "qu", "src": "sc", "swh": "sw", "uzn": "uz", "ydd": "yi", "zsm": "ms", "zyb": "za",
    "fri": "fy", "ccx": "za", "auv": "oc", "lnc": "oc", "prv": "oc",
}

# fmt: on


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1
    iso3: str  # ISO 639-3 (macrolanguage code where one exists)
    name: str
    script: str  # ISO 15924
    family: str
    genus: str | None = None


def _parse_table(text: str) -> dict[str, Language]:
    table: dict[str, Language] = {}
    for line in text.strip().splitlines():
        code, iso3, name, script, family, genus = line.split("|")
        if code in table:
            raise ValueError(f"languages.py: language {code!r} listed twice")
        table[code] = Language(code, iso3, name, script, family, genus or None)
    return table


LANGUAGES: dict[str, Language] = _parse_table(_TABLE)

ISO3_TO_ISO1: dict[str, str] = {lang.iso3: code for code, lang in LANGUAGES.items()} | _ISO3_ALIASES


def _langs(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Task -> languages. XTREME lists follow google-research/xtreme evaluate.py (TASK2LANGS); the
# XTREME-R extensions follow its scripts (train_udpos.sh, train_panx.sh, run_tatoeba.sh).
_XTREME_PANX = _langs(
    "ar he vi id jv ms tl eu ml ta te af nl en de el bn hi mr ur fa fr it pt es bg ru ja ka ko "
    "th sw yo my zh kk tr et fi hu"
)
_XTREME_UDPOS = _langs(
    "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi "
    "yo zh"
)
_XTREME_TATOEBA = _langs(
    "ar he vi id jv tl eu ml ta te af nl de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw zh "
    "kk tr et fi hu"
)
_XTREME_XQUAD = _langs("en es de el ru tr ar vi th zh hi")

TASK_LANGUAGES: dict[str, tuple[str, ...]] = {
    "xnli": _langs("ar bg de el en es fr hi ru sw th tr ur vi zh"),
    "pawsx": _langs("de en es fr ja ko zh"),
    "udpos": _XTREME_UDPOS,
    "panx": _XTREME_PANX,
    "xquad": _XTREME_XQUAD,
    "mlqa": _langs("en es de ar hi vi zh"),
    "tydiqa": _langs("en ar bn fi id ko ru sw te"),
    "bucc": _langs("de fr ru zh"),
    "tatoeba": _XTREME_TATOEBA,
    # XTREME-R
    "xcopa": _langs("et ht id it qu sw ta th tr vi zh"),
    "udpos_xtremer": _XTREME_UDPOS + _langs("lt pl uk ro"),
    "panx_xtremer": _XTREME_PANX + _langs("qu pl uk az lt pa gu ro"),
    "tatoeba_xtremer": _XTREME_TATOEBA + _langs("az lt pl uk ro"),
    "xquad_xtremer": _XTREME_XQUAD + ("ro",),
    # others
    "multiemo": _langs("en zh it ja ru de es fr nl pt pl"),
    "multi_eurlex": _langs("en da de nl sv bg cs hr pl sk sl es fr it pt ro et fi hu lt lv el mt"),
}

# The two benchmarks' language sets per target (a target outside one has no entry for it):
# XTREME averages go beside Hu et al. 2020; XTREME-R (Ruder et al. 2021) dropped PAWS-X and BUCC,
# added XCOPA and languages to UD-POS, PAN-X, XQuAD and Tatoeba.
BENCHMARK_LANGUAGES: dict[str, dict[str, tuple[str, ...]]] = {
    "xnli": {"XTREME": TASK_LANGUAGES["xnli"], "XTREME-R": TASK_LANGUAGES["xnli"]},
    "pawsx": {"XTREME": TASK_LANGUAGES["pawsx"]},
    "udpos": {"XTREME": _XTREME_UDPOS, "XTREME-R": TASK_LANGUAGES["udpos_xtremer"]},
    "panx": {"XTREME": _XTREME_PANX, "XTREME-R": TASK_LANGUAGES["panx_xtremer"]},
    "xquad": {"XTREME": _XTREME_XQUAD, "XTREME-R": TASK_LANGUAGES["xquad_xtremer"]},
    "mlqa": {"XTREME": TASK_LANGUAGES["mlqa"], "XTREME-R": TASK_LANGUAGES["mlqa"]},
    "tydiqa": {"XTREME": TASK_LANGUAGES["tydiqa"], "XTREME-R": TASK_LANGUAGES["tydiqa"]},
    "bucc": {"XTREME": TASK_LANGUAGES["bucc"]},
    "tatoeba": {"XTREME": _XTREME_TATOEBA, "XTREME-R": TASK_LANGUAGES["tatoeba_xtremer"]},
    "xcopa": {"XTREME-R": TASK_LANGUAGES["xcopa"]},
}
# Benchmark languages that the hub copy lacks: without the task's own files (its data_files
# option) they have no data, are named before anything runs and are not evaluated.
NEEDS_FILES: dict[str, dict[str, str]] = {
    "tatoeba": dict.fromkeys(
        _langs("az lt pl uk ro"),
        "XTREME-R lists it; google/xtreme has no tatoeba config for it: give LASER's "
        "tatoeba.<l3>-eng files as curate.task_options.tatoeba.data_files",
    ),
}


def languages_without_data(task: str, options: dict | None) -> dict[str, str]:
    """Language -> why ``task`` has no data for it under these loader ``options``."""
    return {} if (options or {}).get("data_files") else NEEDS_FILES.get(task, {})


# UDPOS configs in google/xtreme are named by English language name (``udpos.German``).
UDPOS_CONFIG_NAMES: dict[str, str] = {
    code: LANGUAGES[code].name for code in TASK_LANGUAGES["udpos"]
}
# Tatoeba configs in google/xtreme are named by ISO 639-3 code; these differ from ``iso3``.
TATOEBA_CONFIG_NAMES: dict[str, str] = {
    code: {"zh": "cmn", "fa": "pes", "sw": "swh"}.get(code, LANGUAGES[code].iso3)
    for code in TASK_LANGUAGES["tatoeba"]
}


class UnknownLanguageError(ValueError):
    """A language code that the table or a task does not know."""


def get_language(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except KeyError:
        hint = f" (ISO 639-3 {code!r} is {ISO3_TO_ISO1[code]!r})" if code in ISO3_TO_ISO1 else ""
        raise UnknownLanguageError(
            f"unknown language code {code!r}{hint}: xstilts.languages.LANGUAGES uses ISO 639-1 codes"
        ) from None


def task_languages(task: str) -> tuple[str, ...]:
    try:
        return TASK_LANGUAGES[task]
    except KeyError:
        raise UnknownLanguageError(
            f"no language list for task {task!r}; known: {', '.join(sorted(TASK_LANGUAGES))}"
        ) from None


def resolve_language_list(value: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    """A ``curate.task_languages`` value: a list of codes, or ``"@<task>"`` naming that task's
    language list; anything else raises :class:`UnknownLanguageError`."""
    if not isinstance(value, str):
        return tuple(value)
    if not value.startswith("@"):
        raise UnknownLanguageError(f"expected a list of languages or '@<task>', got {value!r}")
    return task_languages(value[1:])


def check_languages(task: str, langs, valid: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Return ``langs`` as a tuple; raise naming the unknown ones and the valid ones for ``task``.

    ``valid`` defaults to ``TASK_LANGUAGES[task]``.
    """
    if isinstance(langs, str):
        langs = (langs,)
    valid = tuple(valid) if valid is not None else task_languages(task)
    unknown = [lang for lang in langs if lang not in valid]
    if unknown:
        raise UnknownLanguageError(
            f"task {task!r} has no language(s) {', '.join(map(repr, unknown))}; "
            f"valid: {' '.join(valid)}"
        )
    return tuple(langs)


def language_list(name: str) -> tuple[str, ...]:
    """A large language list kept as data: ``language_lists/<name>.txt`` beside this module, one
    code per line (``#`` comments and blank lines skipped), in the file's order."""
    from pathlib import Path

    path = Path(__file__).parent / "language_lists" / f"{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no language list {name!r}")
    lines = (
        line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()
    )
    return tuple(line for line in lines if line)
