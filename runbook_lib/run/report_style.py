"""The one stylesheet of a run's pages (index.html and the rendered
notebooks): only the rules they use, no JupyterLab CSS, nothing loaded from
the network. Diffs are monospace and folded behind a "diff" toggle (a
checkbox and its label: no script), and printing unfolds them, and any
closed <details> a notebook's output holds (Chromium's ::details-content)."""

from __future__ import annotations

from itertools import count

TO_CHANGE = "#fff8c5"  # "to change": amber, apart from ok (green) and FAIL (red), as render.CHECK_LOOK will have it

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;color:#1f2328;max-width:1200px;
     padding:0 16px;line-height:1.4}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d0d7de}h3{font-size:15px}
table{border-collapse:collapse;margin:6px 0 14px 0;font-size:13px}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left!important;vertical-align:top}
th{background:#f6f8fa}
code,pre,kbd{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}
pre{background:#f6f8fa;padding:6px;overflow-x:auto;margin:2px 0 8px 0;white-space:pre}
tr.ok,td.ok{background:#dafbe1}tr.FAIL{background:#ffebe9}tr.to-change{background:@TO_CHANGE@}
tr.skipped{background:#f6f8fa;color:#57606a}
table.runbook-checks tr[style*="#f6f8fa"]{background:@TO_CHANGE@!important}
.verdict{font-weight:bold;padding:2px 8px;border-radius:4px}
.v0{background:#dafbe1}.v1{background:#ffebe9}.v2{background:#fff8c5}
.add{color:#1a7f37}.del{color:#cf222e}.hunk{color:#8250df}
.expected{color:#57606a;font-style:italic}
.meta td:first-child{font-weight:bold;white-space:nowrap}
ul.what{margin:0;padding-left:16px}
blockquote.log{margin:2px 0 6px 0;padding:2px 8px;border-left:3px solid #4a7fb5;background:#f6f8fa}
blockquote.log code{white-space:pre-wrap;overflow-wrap:anywhere;font-size:11px}
#verdicts{width:100%;table-layout:fixed}#verdicts th:nth-child(1){width:15em}#verdicts th:nth-child(2){width:6em}
.proof p{font-size:13px;margin:0}
blockquote.log .src{color:#57606a;font-size:11px}
.proof{display:flex;flex-wrap:wrap;gap:8px 32px;align-items:flex-start}.proof>div{flex:0 1 auto}
.fold>input{display:none}.fold>label{cursor:pointer;color:#0969da;font-size:12px}
.fold>label::before{content:"\\25B8  "}.fold>input:checked+label::before{content:"\\25BE  "}
.fold>input:not(:checked)~.body{display:none}
.same-diff{color:#57606a;font-size:12px;margin:2px 0 8px 0}
/* the rendered notebooks (nbconvert's basic template) */
.cell{margin:10px 0}.prompt{display:none}
.input_area pre{border-left:3px solid #d0d7de}
.output_text pre{background:#fff;border:1px solid #eaeef2}
.rendered_html table{font-size:13px}
.anchor-link{display:none}
@media print{
  body{margin:0;max-width:none}.fold>label{display:none}.fold>.body{display:block!important}
  details::details-content{content-visibility:visible;display:block}
  .fold.screen-only>label{display:inline}.fold.screen-only>label::before{content:""}
  .fold.screen-only>.body{display:none!important}
  pre{white-space:pre-wrap;word-break:break-all}
  tr,blockquote,svg{break-inside:avoid}h2,h3{break-after:avoid}
}
""".replace("@TO_CHANGE@", TO_CHANGE)


_ids = count(1)


def fold(label: str, body: str, open_: bool = False, printed: bool = True) -> str:
    """BODY behind a toggle labelled LABEL; printing shows it (PRINTED=False: prints the label only)."""
    i = next(_ids)
    cls = "fold" if printed else "fold screen-only"
    return (f'<div class="{cls}"><input type="checkbox" id="fold{i}"{" checked" if open_ else ""}>'
            f'<label for="fold{i}">{label}</label><div class="body">{body}</div></div>')
