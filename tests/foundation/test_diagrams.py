"""The pictures in docs/diagrams.md are the code's own: a changed flow or module list shows there."""

from __future__ import annotations

from pathlib import Path

from bot.diagrams import flow_graphs, main, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "diagrams.md"


def test_docs_diagrams_are_current() -> None:
    assert main(check=str(DOC)) == 0, "run `python -m bot diagrams > docs/diagrams.md`"


def test_every_registered_flow_is_drawn_with_its_steps() -> None:
    graphs = {g.name: g for g in flow_graphs()}
    assert {"bind", "eligibility", "reminder_settings", "clarify"} <= set(graphs)
    bind_states = {s for edge in graphs["bind"].edges for s in edge}
    assert {"id_card", "phone", "code", "unbind_confirm"} <= bind_states
    assert ("menu", "time") in graphs["reminder_settings"].edges


def test_a_stale_file_is_reported(tmp_path: Path) -> None:
    stale = tmp_path / "diagrams.md"
    stale.write_text(render().replace("stateDiagram-v2", "stateDiagram", 1), encoding="utf-8")
    assert main(check=str(stale)) == 1
