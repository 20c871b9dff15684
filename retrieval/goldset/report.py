"""A self-contained HTML report of a run: summary, per-kind chart (embedded PNG), filterable table.

Everything is in one file (no external scripts, styles or images) and every value taken from the
gold set or the assistant is HTML-escaped. Labels are Vietnamese: the report is for the people
who run the assistant.
"""
from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path
from typing import Any

from retrieval.goldset.model import (ABSTAINED_WRONGLY, ERROR, MISSING_FACT, SHOULD_HAVE_ABSTAINED,
                                     WRONG_CITATION, UnitResult)

REASON_VI = {
    WRONG_CITATION: "sai trích dẫn",
    MISSING_FACT: "thiếu thông tin",
    SHOULD_HAVE_ABSTAINED: "lẽ ra phải từ chối",
    ABSTAINED_WRONGLY: "từ chối sai",
    ERROR: "lỗi khi hỏi",
}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#222}
h1{font-size:1.5rem} h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%} th,td{border:1px solid #ccc;padding:.35rem .5rem;vertical-align:top}
th{background:#f2f2f2;text-align:left} td.num{text-align:right}
table.summary{width:auto} .pass{background:#e8f5e9} .fail{background:#fdecea} .skip{background:#f5f5f5;color:#777}
.controls{margin:1rem 0;display:flex;gap:1rem;flex-wrap:wrap} .answer{max-width:40rem;white-space:pre-wrap}
small{color:#555} img{max-width:100%}
"""

_SCRIPT = """
(function(){
  var q=document.getElementById('f-text'), v=document.getElementById('f-verdict'), k=document.getElementById('f-kind');
  var rows=document.querySelectorAll('#items tbody tr'), count=document.getElementById('f-count');
  function apply(){
    var text=q.value.toLowerCase(), verdict=v.value, kind=k.value, shown=0;
    rows.forEach(function(r){
      var ok=(!verdict||r.dataset.verdict===verdict)&&(!kind||r.dataset.kind===kind)
             &&(!text||r.textContent.toLowerCase().indexOf(text)>=0);
      r.style.display=ok?'':'none'; if(ok){shown++;}
    });
    count.textContent=shown;
  }
  [q,v,k].forEach(function(el){el.addEventListener('input',apply);el.addEventListener('change',apply);});
  apply();
})();
"""


def chart_png(per_kind: dict[str, dict[str, Any]]) -> bytes:
    """Horizontal bars: pass rate of each kind (judged questions only), with passed/judged labels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kinds = [k for k, v in per_kind.items() if v["judged"]]
    rates = [per_kind[k]["pass_rate"] * 100 for k in kinds]
    figure = Figure(figsize=(7, 0.45 * max(len(kinds), 1) + 1.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bars = axes.barh(kinds, rates, color=["#2e7d32" if r >= 80 else "#f9a825" if r >= 50 else "#c62828"
                                          for r in rates])
    for bar, kind in zip(bars, kinds, strict=True):
        entry = per_kind[kind]
        axes.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2,
                  f"{entry['passed']}/{entry['judged']}", va="center", fontsize=9)
    axes.set_xlim(0, 110)
    axes.invert_yaxis()
    axes.set_xlabel("Tỷ lệ đạt (%)")
    axes.set_title("Tỷ lệ đạt theo loại câu hỏi")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _fmt(value: Any, percent: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if percent else str(value)


def _verdict(unit: UnitResult) -> tuple[str, str]:
    if unit.skipped:
        return "skip", "bỏ qua"
    return ("pass", "đạt") if unit.passed else ("fail", "không đạt")


def _row(unit: UnitResult) -> str:
    css, label = _verdict(unit)
    why = ", ".join(REASON_VI.get(r, r) for r in unit.reasons)
    if unit.missing:
        why += "<br><small>thiếu: " + "; ".join(escape(m) for m in unit.missing) + "</small>"
    if unit.skipped:
        why = "hội thoại nhiều lượt: chỉ chấm được khi chạy với --rest URL"
    elif unit.detail:
        why += f"<br><small>{escape(unit.detail)}</small>"
    cited = "<br>".join(escape(c.get("doc_number") or "(không số)") for c in unit.citations)
    expected = ", ".join(escape(d) for d in unit.expected_docs)
    if unit.expect_abstain:
        expected = "phải từ chối"
    if unit.must_contain:
        expected += ("<br>" if expected else "") + "<small>cần có: " + \
            "; ".join(escape(m) for m in unit.must_contain) + "</small>"
    answer = escape(unit.answer) + (" <small>(từ chối)</small>" if unit.abstained else "")
    latency = "" if unit.latency_ms is None else f"{unit.latency_ms:.0f}"
    return (f'<tr class="{css}" data-verdict="{css}" data-kind="{escape(unit.kind)}">'
            f"<td>{escape(unit.unit_id)}</td><td>{escape(unit.kind)}</td><td>{escape(unit.question)}</td>"
            f'<td class="answer">{answer}</td><td>{cited}</td><td>{expected}</td>'
            f"<td>{label}</td><td>{why}</td><td class=\"num\">{latency}</td></tr>")


def render_html(result: dict[str, Any], units: list[UnitResult]) -> str:
    summary = result["summary"]
    chart = base64.b64encode(chart_png(summary["per_kind"])).decode("ascii")
    rows = [
        ("Bộ câu hỏi", escape(result["gold"])), ("Cách hỏi", escape(result["runner"])),
        ("Thời điểm", escape(result["created_at"])),
        ("Số câu đã chấm / bỏ qua", f"{summary['judged']} / {summary['skipped']}"),
        ("Tỷ lệ đạt", f"{_fmt(summary['pass_rate'], True)} ({summary['passed']}/{summary['judged']})"),
        ("Trích dẫn đúng ở vị trí 1 (hit@1)", _fmt(summary["citation_hit_at_1"], True)),
        ("Trích dẫn đúng trong 3 vị trí đầu (hit@3)", _fmt(summary["citation_hit_at_3"], True)),
        ("Tỷ lệ thông tin cần có xuất hiện", _fmt(summary["must_contain_recall"], True)),
        ("Độ chính xác khi từ chối", _fmt(summary["abstention_precision"], True)),
        ("Độ bao phủ khi từ chối", _fmt(summary["abstention_recall"], True)),
        ("Hội thoại nhiều lượt đạt trọn vẹn", f"{summary['conversations_passed']}/{summary['conversations']}"),
        ("Thời gian trả lời p50 / p95 (ms)", f"{_fmt(summary['latency_ms_p50'])} / {_fmt(summary['latency_ms_p95'])}"),
    ]
    summary_html = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    kind_rows = "".join(
        f"<tr><td>{escape(kind)}</td><td class=\"num\">{v['passed']}/{v['judged']}</td>"
        f"<td class=\"num\">{_fmt(v['pass_rate'], True)}</td><td class=\"num\">{v['skipped']}</td></tr>"
        for kind, v in summary["per_kind"].items())
    kinds = "".join(f'<option value="{escape(k)}">{escape(k)}</option>' for k in summary["per_kind"])
    baseline = ""
    if result.get("baseline"):
        diff = result["baseline"]
        baseline = ("<h2>So với lần chạy trước</h2><ul>"
                    f"<li>Kém đi: {escape(', '.join(diff['regressed']) or 'không có')}</li>"
                    f"<li>Tốt lên: {escape(', '.join(diff['improved']) or 'không có')}</li></ul>")
    table = "".join(_row(u) for u in units)
    return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Đánh giá Trợ lý ảo theo bộ câu hỏi chuẩn</title><style>{_STYLE}</style></head>
<body>
<h1>Đánh giá Trợ lý ảo theo bộ câu hỏi chuẩn</h1>
<table class="summary">{summary_html}</table>
<h2>Theo loại câu hỏi</h2>
<img alt="Tỷ lệ đạt theo loại câu hỏi" src="data:image/png;base64,{chart}">
<table class="summary"><thead><tr><th>Loại</th><th>Đạt</th><th>Tỷ lệ</th><th>Bỏ qua</th></tr></thead>
<tbody>{kind_rows}</tbody></table>
{baseline}
<h2>Từng câu hỏi</h2>
<div class="controls">
<label>Tìm: <input id="f-text" type="search" placeholder="câu hỏi, câu trả lời, số văn bản…"></label>
<label>Kết quả: <select id="f-verdict"><option value="">tất cả</option><option value="pass">đạt</option>
<option value="fail">không đạt</option><option value="skip">bỏ qua</option></select></label>
<label>Loại: <select id="f-kind"><option value="">tất cả</option>{kinds}</select></label>
<span>Đang hiện <b id="f-count"></b> câu</span>
</div>
<table id="items"><thead><tr><th>Mã</th><th>Loại</th><th>Câu hỏi</th><th>Câu trả lời</th><th>Trích dẫn</th>
<th>Yêu cầu</th><th>Kết quả</th><th>Lý do</th><th>ms</th></tr></thead>
<tbody>{table}</tbody></table>
<script>{_SCRIPT}</script>
</body></html>
"""


def write_report(path: Path, result: dict[str, Any], units: list[UnitResult]) -> None:
    path.write_text(render_html(result, units), encoding="utf-8")
