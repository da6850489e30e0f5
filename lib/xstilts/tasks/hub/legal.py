"""Legal tasks: LexGLUE LEDGAR and UNFAIR-ToS, ContractNLI, two LegalBench tasks (intermediates)
and MultiEURLEX (cross-lingual target).

Multi-label sources:

* ``unfair_tos``: 8 unfair-term categories, and most clauses have none: multi-label (format
  ``multi_label``), scored with micro-F1 as LexGLUE does (a "none" label where a clause has none).
* ``multi_eurlex`` is multi-label (format ``multi_label``): every level-1 EUROVOC concept (21)
  of a document, scored with mean R-Precision as its paper does (``xstilts.tasks.protocol``).
"""

from __future__ import annotations

from ...languages import TASK_LANGUAGES
from ..protocol import PROTOCOLS
from ..registry import Source
from ..schema import Format
from . import raw
from .loading import hub_fetch, label_index, register_hub_task

LEDGAR_LABELS = tuple(
    "Adjustments, Agreements, Amendments, Anti-Corruption Laws, Applicable Laws, Approvals, Arbitration, "
    "Assignments, Assigns, Authority, Authorizations, Base Salary, Benefits, Binding Effects, Books, Brokers, "
    "Capitalization, Change In Control, Closings, Compliance With Laws, Confidentiality, Consent To Jurisdiction, "
    "Consents, Construction, Cooperation, Costs, Counterparts, Death, Defined Terms, Definitions, Disability, "
    "Disclosures, Duties, Effective Dates, Effectiveness, Employment, Enforceability, Enforcements, "
    "Entire Agreements, Erisa, Existence, Expenses, Fees, Financial Statements, Forfeitures, Further Assurances, "
    "General, Governing Laws, Headings, Indemnifications, Indemnity, Insurances, Integration, "
    "Intellectual Property, Interests, Interpretations, Jurisdictions, Liens, Litigations, Miscellaneous, "
    "Modifications, No Conflicts, No Defaults, No Waivers, Non-Disparagement, Notices, Organizations, "
    "Participations, Payments, Positions, Powers, Publicity, Qualifications, Records, Releases, Remedies, "
    "Representations, Sales, Sanctions, Severability, Solvency, Specific Performance, "
    "Submission To Jurisdiction, Subsidiaries, Successors, Survival, Tax Withholdings, Taxes, Terminations, "
    "Terms, Titles, Transactions With Affiliates, Use Of Proceeds, Vacations, Venues, Vesting, "
    "Waiver Of Jury Trials, Waivers, Warranties, Withholdings".split(", ")
)
UNFAIR_TOS_CATEGORIES = (
    "Limitation of liability",
    "Unilateral termination",
    "Unilateral change",
    "Content removal",
    "Contract by using",
    "Choice of law",
    "Jurisdiction",
    "Arbitration",
)
CONTRACT_NLI_LABELS = ("contradiction", "entailment", "neutral")
MULTI_EURLEX_LEVEL1 = tuple(
    "100149 100160 100148 100147 100152 100143 100156 100158 100154 100153 100142 100145 100150 100162 "
    "100159 100144 100151 100157 100161 100146 100155".split()
)
LEGALBENCH_LABELS = ("No", "Yes")
LEGALBENCH_TASKS = ("contract_nli_confidentiality_of_agreement", "cuad_audit_rights")


def map_ledgar(rec: dict, language: str, where: str) -> dict:
    return {
        "id": f"ledgar-{rec['_index']}",
        "text": rec["text"],
        "label": label_index(
            "ledgar", LEDGAR_LABELS, rec["label"], where=where, field_name="label"
        ),
    }


def map_unfair_tos(rec: dict, language: str, where: str) -> dict:
    labels = [
        label_index("unfair_tos", UNFAIR_TOS_CATEGORIES, v, where=where, field_name="labels")
        for v in rec["labels"]
    ]
    # multi-label as in LexGLUE; an empty list is a fair clause (most rows)
    return {
        "id": f"unfair_tos-{rec['_split']}-{rec['_index']}",
        "text": rec["text"],
        "labels": labels,
    }


def map_contract_nli(rec: dict, language: str, where: str) -> dict:
    label = label_index(
        "contract_nli", CONTRACT_NLI_LABELS, rec["label"], where=where, field_name="label"
    )
    return {
        "id": f"contract_nli-{rec['_index']}",
        "text_a": rec["premise"],
        "text_b": rec["hypothesis"],
        "label": label,
    }


def map_multi_eurlex(rec: dict, language: str, where: str) -> dict:
    labels = [
        label_index("multi_eurlex", MULTI_EURLEX_LEVEL1, v, where=where, field_name="labels")
        for v in rec["labels"]
    ]
    text = rec["text"][language] if isinstance(rec["text"], dict) else rec["text"]
    # no language in the id: the same documents (celex ids) in every language
    return {"id": f"multi_eurlex-{rec['celex_id']}", "text": text, "labels": labels}


def _legalbench_mapper(task: str):
    def mapper(rec: dict, language: str, where: str) -> dict:
        label = label_index(
            task, LEGALBENCH_LABELS, rec["answer"], where=where, field_name="answer"
        )
        return {"id": f"{task}-{rec['index']}", "text": rec["text"], "label": label}

    return mapper


def _legalbench_reader(data_files, split: str, language: str):
    return raw.read_legalbench_tsv(
        raw.find_files(data_files, [f"{split}.tsv"], f"LegalBench {split}")
    )


register_hub_task(
    name="ledgar",
    format=Format.SINGLE,
    domain="legal",
    roles=("intermediate",),
    source=Source("hub", "coastalcph/lex_glue", "ledgar"),
    metric="accuracy",
    label_names=LEDGAR_LABELS,
    license="CC BY-SA 4.0",
    description="LexGLUE LEDGAR contract provision types (100)",
    mapper=map_ledgar,
)
register_hub_task(
    name="unfair_tos",
    format=Format.MULTI_LABEL,
    domain="legal",
    roles=("intermediate",),
    source=Source("hub", "coastalcph/lex_glue", "unfair_tos"),
    metric="multilabel_f1",
    label_names=UNFAIR_TOS_CATEGORIES,
    license="CC BY-SA 4.0",
    description="LexGLUE UNFAIR-ToS: unfair-term categories of a ToS clause (multi-label, 8)",
    mapper=map_unfair_tos,
)
register_hub_task(
    name="contract_nli",
    format=Format.PAIR,
    domain="legal",
    roles=("intermediate",),
    source=Source(
        "hub", "kiddothe2b/contract-nli", "contractnli_a", note="script-only: Parquet export"
    ),
    metric="accuracy",
    label_names=CONTRACT_NLI_LABELS,
    license="CC BY-NC-SA 4.0 (NON-COMMERCIAL, hub card; original ContractNLI CC BY 4.0)",
    description="ContractNLI (evidence spans as premise, fits 512 tokens)",
    loader_fetch=hub_fetch(
        "kiddothe2b/contract-nli", "contractnli_a", task="contract_nli", parquet_export=True
    ),
    mapper=map_contract_nli,
)
for _task in LEGALBENCH_TASKS:
    register_hub_task(
        name=f"legalbench_{_task}",
        format=Format.SINGLE,
        domain="legal",
        roles=("intermediate",),
        source=Source(
            "hub",
            "nguha/legalbench",
            _task,
            note="Parquet export (UNVERIFIED); GitHub has train.tsv",
        ),
        metric="accuracy",
        label_names=LEGALBENCH_LABELS,
        splits=("train", "test"),
        license="CC BY 4.0 (source dataset)",
        description=f"LegalBench {_task} (binary Yes/No, derived from {_task.split('_')[0].upper()})",
        loader_fetch=hub_fetch(
            "nguha/legalbench", _task, task=f"legalbench_{_task}", parquet_export=True
        ),
        mapper=_legalbench_mapper(f"legalbench_{_task}"),
        read_raw=_legalbench_reader,
    )
register_hub_task(
    name="multi_eurlex",
    format=Format.MULTI_LABEL,
    domain="legal",
    roles=("target",),
    source=Source(
        "hub", "coastalcph/multi_eurlex", "<lang>", note="script-only: Parquet export, level_1"
    ),
    metric=PROTOCOLS["multi_eurlex"].metric,
    languages=TASK_LANGUAGES["multi_eurlex"],
    label_names=MULTI_EURLEX_LEVEL1,
    license="CC BY-SA 4.0",
    description="MultiEURLEX level-1 EUROVOC concepts (multi-label, mean R-Precision)",
    loader_fetch=hub_fetch(
        "coastalcph/multi_eurlex", lambda lang: lang, task="multi_eurlex", parquet_export=True
    ),
    mapper=map_multi_eurlex,
)
