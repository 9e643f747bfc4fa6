"""JupyterLab only (never under the runner, nbval or tests: nothing ever
waits for a click): the Apply button a plan-only notebook offers, shown
outputs that are updated in place (``Shown``: a summary that follows the
run, a table marked superseded), and the verification cell an Apply runs
again (``cell_source``)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable

from ..params.secrets import mask_text
from .textview import TextShown


def in_ipython() -> bool:
    """True in a kernel (JupyterLab, the runner's, nbval's); False in a plain process."""
    try:
        from IPython import get_ipython
        return get_ipython() is not None
    except ImportError:
        return False


class Shown:
    """An output shown with a display id, so it can be replaced in place later
    (IPython's update_display: JupyterLab redraws every output with that id)."""

    def __init__(self, obj: object) -> None:
        self.obj, self.handle = obj, None
        try:
            from IPython.display import display
            self.handle = display(obj, display_id=True)
        except ImportError:
            print(obj)

    def update(self, obj: object) -> None:
        self.obj = obj
        if self.handle is not None:
            self.handle.update(obj)


@dataclass(repr=False)
class Superseded(TextShown):
    """An earlier output kept for the record but marked as no longer current."""

    obj: Any
    why: str

    def text(self) -> str:
        inner = self.obj.text() if hasattr(self.obj, "text") else str(self.obj)
        return mask_text(f"[superseded: {self.why}]\n{inner}")

    def _repr_html_(self) -> str:
        inner = self.obj._repr_html_() if hasattr(self.obj, "_repr_html_") else \
            f"<pre>{html.escape(mask_text(str(self.obj)))}</pre>"
        return ("<div class='runbook-superseded'><div style='background:#fff8c5;border-left:4px solid #9a6700;"
                f"padding:4px 6px'><b>superseded</b>: {html.escape(mask_text(self.why))}</div>"
                f"<div style='opacity:0.45'>{inner}</div></div>")


def cell_source() -> str:
    """The source of the cell being run (IPython stores it before running it)."""
    try:
        from IPython import get_ipython
        ip = get_ipython()
    except ImportError:
        return ""
    if ip is None:
        return ""
    cells = ip.user_ns.get("In") or [""]
    return cells[-1] if isinstance(cells[-1], str) else ""


def run_source(source: str) -> None:
    """Run SOURCE (a verification cell's code) again in the notebook's namespace."""
    from IPython import get_ipython
    ip = get_ipython()
    code = ip.transform_cell(source)
    exec(compile(code, "<verify again>", "exec"), ip.user_ns)  # noqa: S102 - the operator's own cell


def apply_button(title: str, on_apply: Callable[[], None]) -> None:
    """A button that calls ON_APPLY once clicked, its output below it; a
    failure is shown there, like a failed cell, and the button offered again."""
    try:
        import ipywidgets as w
        from IPython.display import display
    except ImportError:
        return
    button = w.Button(description="Apply", button_style="warning", icon="check", tooltip=f"apply: {title}")
    out = w.Output()

    def on_click(_):  # noqa: ANN001
        button.disabled = True
        with out:
            try:
                on_apply()
            except Exception as e:  # shown in the output area, like a failed cell
                print(f"apply failed: {type(e).__name__}: {mask_text(str(e))}")
                button.disabled = False

    button.on_click(on_click)
    display(w.VBox([button, out]))
