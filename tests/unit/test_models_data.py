"""Reading labelled CSVs and computing metrics."""

from __future__ import annotations

import pytest

from foundation.errors import ModelError
from models.data import read_labelled_csv
from models.evaluate import classification_metrics
from models.labels import SENTIMENTS


def test_quoted_line_breaks_stay_in_one_row(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text('text,label\n"first line\nsecond line",negative\nplain,positive\n')
    rows = read_labelled_csv(path, SENTIMENTS)
    assert [r.text for r in rows] == ["first line\nsecond line", "plain"]
    assert [r.label for r in rows] == [0, 2]


def test_unknown_label_names_file_line_and_label(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("text,label\ngood,positive\nbad,bearish\n")
    with pytest.raises(ModelError, match=r"s\.csv:3: unknown label 'bearish'"):
        read_labelled_csv(path, SENTIMENTS)


def test_missing_column_and_missing_file(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("sentence,label\nx,positive\n")
    with pytest.raises(ModelError, match="missing column"):
        read_labelled_csv(path, SENTIMENTS)
    with pytest.raises(ModelError, match="not found"):
        read_labelled_csv(tmp_path / "nope.csv", SENTIMENTS)


def test_metrics_known_example():
    # true: n n p p u ; pred: n p p p n  (n=negative, u=neutral, p=positive)
    y_true = [0, 0, 2, 2, 1]
    y_pred = [0, 2, 2, 2, 0]
    m = classification_metrics(y_true, y_pred, SENTIMENTS)
    assert m["n"] == 5
    assert m["accuracy"] == 0.6
    neg = m["per_class"]["negative"]
    assert (neg["precision"], neg["recall"], neg["support"]) == (0.5, 0.5, 2)
    pos = m["per_class"]["positive"]
    assert pos["precision"] == pytest.approx(2 / 3, abs=1e-4) and pos["recall"] == 1.0
    assert m["per_class"]["neutral"]["f1"] == 0.0
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3, abs=1e-4)
    assert m["confusion"]["matrix"] == [[1, 0, 1], [1, 0, 0], [0, 0, 2]]
