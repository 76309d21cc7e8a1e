"""``SummaryView``: the few summary fields ``stats`` and the report read of every index row,
decoded by msgspec straight from the stored document. Whatever the document holds, the view
is the one ``SummaryView.of`` reads field by field from ``json.loads`` (a wrong type reads
as absent, never as an error), and on a store's real documents it says what the summary
says."""

from __future__ import annotations

import json
import random
from typing import Any

from ai_orchestrator.core.interaction import TOKEN_KEYS
from ai_orchestrator.core.names import SessionName
from ai_orchestrator.store.summary import empty_summary
from ai_orchestrator.store.summary_view import NO_LINEAGE, BucketView, SummaryView, TokenCounts

# A value of every JSON type, and the odd numbers a summary written by json.dumps may hold.
ODD = [None, True, False, 0, -1, 3, 2.5, 1e300, 10**30, -(10**20), "", "x", [], [1, "a"],
       {}, {"k": 1}]  # fmt: skip
ODD_TEXT = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", '"\\ud800"']


def _summary(rng: random.Random) -> dict[str, Any]:
    summary = empty_summary(SessionName("implement", "feat"), "2026-10-01T00:00:00Z")
    summary.update(agent=rng.choice(["claude", "codex", None]), model="m-1",
                   last_outcome=rng.choice(["success", "timeout", None]),
                   failed_by_outcome={"timeout": 2, "interrupted": 1},
                   lineage={"method": rng.choice(["fork", "template", "summary"]),
                            "session": "plan-a", "template": "t"})  # fmt: skip
    for model in ("m-1", "m/2", "é"):
        summary["by_model"][model] = {
            "interactions": rng.randint(0, 50),
            "tokens": {k: rng.randint(0, 10**6) for k in TOKEN_KEYS},
            "cost": rng.random() * 3,
            "savings": rng.random(),
            "unpriced": rng.randint(0, 2),
            "cost_reported": rng.choice([0.0, 0.25]),
            "cost_reported_by": rng.choice([[], ["codex"]]),
        }
    return summary


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``doc`` a value can be put (each key of each object)."""
    if not isinstance(doc, dict):
        return []
    out = []
    for key, value in doc.items():
        out.append((*prefix, key))
        out += _paths(value, (*prefix, key))
    return out


def _put(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def test_a_well_formed_summary_reads_as_stored() -> None:
    summary = _summary(random.Random(1))
    view = SummaryView.decode(json.dumps({**summary, "path": "/x", "problems": []}))
    assert (view.agent, view.model, view.last_outcome) == (
        summary["agent"], "m-1", summary["last_outcome"],
    )  # fmt: skip
    assert view.failed_by_outcome == {"timeout": 2, "interrupted": 1}
    assert view.lineage == summary["lineage"]
    assert list(view.by_model) == ["m-1", "m/2", "é"]
    for model, bucket in summary["by_model"].items():
        typed = view.by_model[model]
        assert typed.tokens.counts() == tuple(bucket["tokens"][k] for k in TOKEN_KEYS)
        assert (typed.interactions, typed.cost, typed.savings, typed.unpriced) == (
            bucket["interactions"], bucket["cost"], bucket["savings"], bucket["unpriced"],
        )  # fmt: skip
        assert typed.cost_reported_by == tuple(bucket["cost_reported_by"])


def test_every_odd_value_anywhere_reads_as_the_field_by_field_view_and_never_raises() -> None:
    """Each field of a real summary (and of its buckets and tokens) replaced by a value of
    every JSON type and by each number msgspec refuses: the msgspec view equals the one read
    from ``json.loads`` field by field, and a wrong type is absent, not an error."""
    rng = random.Random(7)
    base = _summary(rng)
    checked = 0
    for path in _paths(base):
        for odd in [*(json.dumps(v) for v in ODD), *ODD_TEXT]:
            doc = json.loads(json.dumps(base))
            _put(doc, path, "@@")
            text = json.dumps(doc).replace('"@@"', odd)
            view = SummaryView.decode(text.encode())
            assert repr(view) == repr(SummaryView.of(json.loads(text))), (path, odd)
            for field in (view.agent, view.model, view.last_outcome):
                assert field is None or isinstance(field, str), (path, odd)
            assert all(type(n) is int for n in (view.failed_by_outcome or {}).values())
            for bucket in view.by_model.values():
                assert all(type(n) is int for n in bucket.tokens.counts()), (path, odd)
                assert type(bucket.interactions) is int and type(bucket.cost) is float
            view.lineage_label()  # any stored lineage gives a label
            checked += 1
    assert checked > 500


def test_wrong_types_read_as_absent() -> None:
    doc = {
        "agent": 5, "model": ["m"], "last_outcome": {"a": 1},
        "failed_by_outcome": {"timeout": 1.0}, "lineage": ["fork"],
        "by_model": {"ok": {"interactions": 2.9, "tokens": {"input": "9", "output": True},
                            "cost": "1", "savings": None, "cost_reported": 0.5,
                            "cost_reported_by": ["codex", 3]},
                     "bad": None, "worse": [1]},
    }  # fmt: skip
    view = SummaryView.decode(json.dumps(doc))
    assert (view.agent, view.model, view.last_outcome) == (None, None, None)
    assert view.failed_by_outcome is None and view.lineage is None
    assert view.lineage_label() == NO_LINEAGE
    assert view.by_model == {
        "ok": BucketView(2, TokenCounts(), 0.0, 0.0, 0, 0.5, ("codex",)),
    }
    for top in ("[]", "null", '"x"', "3"):
        assert SummaryView.decode(top) == SummaryView()


def test_big_integers_stay_exact_integers() -> None:
    big = 2**70 + 1
    doc = {"failed_by_outcome": {"timeout": big},
           "by_model": {"m": {"interactions": big, "tokens": {"input": -big}}}}  # fmt: skip
    view = SummaryView.decode(json.dumps(doc))
    assert view.failed_by_outcome == {"timeout": big}
    assert view.by_model["m"].interactions == big and view.by_model["m"].tokens.input == -big
    assert SummaryView.decode(json.dumps(doc) + " ") == view


def test_lineage_labels() -> None:
    def label(lineage: object) -> str:
        return SummaryView.decode(json.dumps({"lineage": lineage})).lineage_label()

    assert label({"method": "fork", "session": "plan-a"}) == "fork:plan-a"
    assert label({"method": "summary", "session": "plan-a"}) == "summary:plan-a"
    assert label({"method": "template", "template": "t", "session": "s"}) == "template:t"
    assert label({"method": "fork"}) == "fork"
    assert label({}) == "unknown"
    assert label(None) == NO_LINEAGE and label("fork") == NO_LINEAGE
