"""The Apply button a plan-only notebook offers in JupyterLab (never under
the runner, nbval or tests: nothing ever waits for a click)."""

from __future__ import annotations

from typing import Callable

from ..params.secrets import mask_text


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
