"""Which shared sets should a bundled geometry model be trained on? Judged on held-out people.

    python scripts/choose_geometry_data.py [EXPR ...]

The shared data come from ``PIXELFES_DATA`` (default ``../shared/data``).

For each expression that CK+ and the Taiwanese set both have, and each of the two sets as
the test set: subject-disjoint 5-fold over the test set's people; each fold's held-out
people (at most 2 pairs each, as in results.md) are edited by a geometry model
(:func:`pixelfes.geometric.fit`, intensity 1) fitted on

* ``CK+ alone``: the CK+ training people (when CK+ is the test set) or all of CK+;
* ``CK+ + Taiwanese``: the test set's training people and all of the other set (what the
  bundled models were trained on before);
* ``Taiwanese alone``: likewise.

Printed (markdown): per test set, the share of edits that FER2013 / facex read as the
expression, the share that keeps its identity (dlib distance to the input below 0.6),
and the real target photos' share (the ceiling). About 4 minutes for four expressions.
"""

from __future__ import annotations

import argparse

import numpy as np

from pixelfes.data import subject_kfold
from pixelfes.evaluation import lodo
from pixelfes.evaluation.judges import Judges
from pixelfes.evaluation.lodo_geometry import GeometryMethod, LandmarkCache
from pixelfes.evaluation.lodo_report import SAME_PERSON
from pixelfes.evaluation.pairs import PairSet, load_sets
from pixelfes.evaluation.report import markdown_table

SETS = ("ckplus", "taiwanese")
RECIPES = {"CK+ alone": ("ckplus",), "CK+ + Taiwanese": SETS, "Taiwanese alone": ("taiwanese",)}


def training_set(recipe: tuple[str, ...], test: str, own: PairSet, sets) -> PairSet:
    """The recipe's training pairs: the test set's own training people, every other set."""
    parts = [own if name == test else sets[name] for name in recipe]
    return lodo.pool(parts)


def rates(judges: Judges, edits: np.ndarray, inputs: np.ndarray, expression: str) -> str:
    """FER2013 / facex / identity kept, in percent."""
    read = judges.expressions(edits, expression)
    distance = np.linalg.norm(judges.embed(edits) - judges.embed(inputs), axis=1)
    shares = (np.nanmean(read["fer_hit"]), np.nanmean(read["facex_hit"]),
              np.mean(distance < SAME_PERSON))  # fmt: skip
    return " / ".join(f"{100 * s:.0f}" for s in shares)


def rows(expressions, judges: Judges) -> list[list[str]]:
    """One row per expression and test set."""
    landmarks = LandmarkCache()
    table = []
    for expression in expressions:
        sets = load_sets(SETS, expression)
        for test in SETS:
            edits: dict[str, list[np.ndarray]] = {name: [] for name in RECIPES}
            inputs, targets = [], []
            people = list(sets[test].subjects)
            for train, held in subject_kfold(people, k=5, seed=0):
                own = sets[test].subset(np.asarray(train))
                scored = lodo.per_subject(sets[test].subset(np.asarray(held)), 2)
                for name, recipe in RECIPES.items():
                    pairs = training_set(recipe, test, own, sets)
                    method = GeometryMethod(fallback=None, landmarks=landmarks)
                    method.fit(pairs.X, pairs.T, pairs.subjects)
                    edits[name].append(method.predict(scored.X))
                inputs.append(scored.X)
                targets.append(scored.T)
            X, T = np.concatenate(inputs), np.concatenate(targets)
            read = judges.expressions(T, expression)
            real = " / ".join(f"{100 * np.nanmean(read[k]):.0f}" for k in ("fer_hit", "facex_hit"))
            cells = [rates(judges, np.concatenate(edits[name]), X, expression) for name in RECIPES]
            table.append([expression, test, str(len(X)), real, *cells])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("expressions", nargs="*", default=["sad", "anger", "disgust", "fear"])
    args = parser.parse_args()
    header = ["expression", "tested on", "faces", "real FER2013 / facex",
              *(f"{name}: FER2013 / facex / identity kept" for name in RECIPES)]  # fmt: skip
    print("Held-out people, subject-disjoint 5-fold over the test set (percent):\n")
    print(markdown_table(header, rows(args.expressions, Judges(lpips=False))))


if __name__ == "__main__":
    main()
