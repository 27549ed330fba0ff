"""Which CPU operators split the delegated graph, what delegating them would save, why they
were rejected and how to fix them: from the .pte alone (with the committed support table),
or with executorch's own checks and partitioner when an ETRecord is given
(:mod:`edgeinspect.export.partitioner`). :mod:`edgeinspect.recommend.fallbacks` accounts for
every operator left on the CPU, splitting or not, and :mod:`edgeinspect.recommend.cost` puts
measured time on them.
"""

from __future__ import annotations

from edgeinspect.recommend.counterfactual import Counterfactual, Partitioning, counterfactual, repartition
from edgeinspect.recommend.fallbacks import CpuAccount, Fallback, Glue, account, fallbacks
from edgeinspect.recommend.fixes import CATALOG, Fix, fixes_for
from edgeinspect.recommend.recommender import Recommendation, explain_dict, recommend, recommend_method
from edgeinspect.recommend.support import SupportEntry, lookup, target_key

__all__ = [
    "CATALOG",
    "Counterfactual",
    "CpuAccount",
    "Fallback",
    "Fix",
    "Glue",
    "Partitioning",
    "Recommendation",
    "SupportEntry",
    "account",
    "counterfactual",
    "explain_dict",
    "fallbacks",
    "fixes_for",
    "lookup",
    "recommend",
    "recommend_method",
    "repartition",
    "target_key",
]
