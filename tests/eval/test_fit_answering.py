"""The abstention fit shared by the sentence scorer and the reader, on synthetic evidence."""

from __future__ import annotations

import numpy as np

from eval.fit_answering import KEEP_RIGHT, fit_abstention
from rag.answering.config import READER_FEATURES


def test_the_fit_keeps_right_answers_and_abstains_on_what_it_can_tell_apart() -> None:
    rng = np.random.default_rng(0)
    groups = np.array(["hasans"] * 200 + ["noans"] * 100 + ["ontopic"] * 40 + ["offtopic"] * 40)
    right = np.isin(groups, ("hasans", "ontopic")) & (rng.random(len(groups)) < 0.9)
    # One feature tells right answers from the rest; the others are noise.
    x = rng.normal(size=(len(groups), len(READER_FEATURES)))
    x[:, 0] += np.where(right, 3.0, -1.0)

    model, report = fit_abstention(x, right, groups, READER_FEATURES)

    assert model.features == READER_FEATURES
    assert model.coef[0] > 0 and abs(model.coef[0]) == max(abs(c) for c in model.coef)
    at = report["at_threshold"]
    assert min(at["squad_right_answered"], at["ontopic_right_answered"]) >= KEEP_RIGHT
    assert at["squad_noans_abstained"] > 0.5 and at["offtopic_abstained"] > 0.5
    assert report["n"] == {"hasans": 200, "noans": 100, "offtopic": 40, "ontopic": 40}
    confidence = [model.confidence(dict(zip(READER_FEATURES, row))) for row in x]
    answered = np.array(confidence) >= model.threshold
    assert np.mean(answered[(groups == "hasans") & right]) == at["squad_right_answered"]
