"""The board pack written out: HTML (a page that stands alone), PDF, XLSX, CSV and JSON, all from
the same content (ooc.boardpack.build_pack)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ooc.charts import percentage_bars
from ooc.spreadsheet import append_row, csv_text, new_workbook, xlsx_bytes

FORMATS = ("html", "pdf", "xlsx", "csv", "json")
RAG_WORDS = {"green": "Green", "amber": "Amber", "red": "Red", None: "No target"}


def show(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def percent(value: Any) -> str:
    return "–" if value is None else f"{value}%" if isinstance(value, int) else str(value)


def group_text(group: dict[str, str]) -> str:
    return ", ".join(str(v) for v in group.values())


def trend_chart(pack: dict[str, Any], figure: dict[str, Any]) -> Markup:
    points = [(t["quarter"], t["figures"].get(figure["id"])) for t in pack["trends"]]
    points = [(label, value if isinstance(value, int) else None) for label, value in points]
    target = figure["target"]["green"] if figure.get("target") else None
    return Markup(percentage_bars(f"trend-{figure['id']}", f"{figure['id']} {figure['title']} "
                                  "by quarter", points, target))


def rows(pack: dict[str, Any]) -> list[list[Any]]:
    """Every number of the pack as table rows: figure, breakdown, group, counts, RAG."""
    table = [["figure", "title", "breakdown", "group", "numerator", "denominator",
              "percentage", "rag"]]
    for f in pack["figures"]:
        table.append([f["id"], f["title"], "", "", f["numerator"], f["denominator"],
                      f["percentage"], f["rag"] or ""])
        for name, breakdown in f["breakdowns"].items():
            for row in breakdown:
                table.append([f["id"], f["title"], name, group_text(row["group"]),
                              row["numerator"], row["denominator"], row["percentage"], ""])
        for s in f.get("statistics", []):
            table.append([f["id"], f["title"], "working days", s["stage"], s["median"],
                          s["cases"], s["p90"], ""])
    return table


def render_html(pack: dict[str, Any]) -> str:
    env = Environment(loader=PackageLoader("ooc", "templates"),
                      autoescape=select_autoescape(["html"]))
    env.filters.update(show=show, percent=percent, group_text=group_text)
    return env.get_template("board_pack.html").render(pack=pack, rag_words=RAG_WORDS,
                                                      trend_chart=trend_chart)


def write_csv(pack: dict[str, Any]) -> bytes:
    return csv_text(rows(pack)).encode("utf-8-sig")  # the BOM lets Excel read it as UTF-8


def write_xlsx(pack: dict[str, Any]) -> bytes:
    """Every cell through ooc.spreadsheet: text typed by people (plan actions, owners, status
    notes) is never a formula, and dates are date cells."""
    from openpyxl.styles import Font

    book = new_workbook()
    sheet = book.active
    sheet.title = "Figures"
    append_row(sheet, [pack["title"]])
    append_row(sheet, [f"Period {pack['period']['from']} to {pack['period']['to']}, as of "
                       f"{pack['period']['as_of']}. Counts from 1 to "
                       f"{pack['suppression_threshold']} are shown as c."])
    for row in rows(pack):
        append_row(sheet, row)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    trends = book.create_sheet("Trends")
    ids = sorted({i for t in pack["trends"] for i in t["figures"]})
    append_row(trends, ["quarter", *ids])
    for t in pack["trends"]:
        append_row(trends, [t["quarter"], *[t["figures"].get(i) for i in ids]])
    listed = [o for f in pack["figures"] for o in f.get("overdue", [])]
    if listed:  # only in the managers' unsuppressed pack: the board's names no child
        overdue = book.create_sheet("Overdue")
        append_row(overdue, ["case", "milestone", "due on", "working days overdue"])
        for o in listed:
            append_row(overdue, [o["case_id"], o["milestone"], _day(o["due_on"]),
                                 o["working_days_overdue"]])
    plan = book.create_sheet("Improvement plan")
    append_row(plan, ["objective", "action", "owner", "original due", "revised due", "status",
                      "RAG"])
    for objective in pack.get("plan", []):
        for action in objective["actions"]:
            append_row(plan, [objective["title"], action["title"], action["owner"],
                              _day(action["original_due"]), _day(action["revised_due"]),
                              action["status"], action["rag"]])
    changes = book.create_sheet("Plan ratings that changed")
    append_row(changes, ["objective", "action", "on", "from", "to", "reason"])
    for c in pack.get("plan_changes", []):
        append_row(changes, [c["objective"], c["action"], _day(c["on"]), c["from"], c["to"],
                             c["reason"]])
    return xlsx_bytes(book)


def _day(value: Any) -> Any:
    """The pack keeps dates as ISO text (it is also JSON); a spreadsheet gets a date cell."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _latin(text: Any) -> str:
    """The PDF's built-in font covers Latin-1 only."""
    return (str(text).replace("–", "-").replace("’", "'").replace("÷", "/")
            .encode("latin-1", "replace").decode("latin-1"))


def write_pdf(pack: dict[str, Any]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(_latin(pack["title"]))
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin(pack["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 6, _latin(
        f"Period {pack['period']['from']} to {pack['period']['to']}, as of "
        f"{pack['period']['as_of']}. Counts from 1 to {pack['suppression_threshold']} are shown "
        "as c."), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    with pdf.table(col_widths=(12, 70, 22, 22, 18, 18, 24), text_align="LEFT") as table:
        table.row([_latin(h) for h in ("Id", "Figure", "Numerator", "Denominator", "%", "RAG",
                                       "Change")])
        for f in pack["figures"]:
            table.row([_latin(v) for v in (
                f["id"], f["title"], show(f["numerator"]), show(f["denominator"]),
                percent(f["percentage"]), RAG_WORDS[f["rag"]],
                "" if f.get("change") is None else f"{f['change']:+d} points")])
    for section, table_rows in (("Trends by quarter (%)", _trend_rows(pack)),
                                ("Overdue now", _overdue_rows(pack)),
                                ("Improvement plan", _plan_rows(pack)),
                                ("Improvement plan ratings that changed",
                                 _plan_change_rows(pack))):
        if len(table_rows) < 2:
            continue
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 13)
        pdf.cell(0, 9, _latin(section), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        with pdf.table(text_align="LEFT") as table:
            for row in table_rows:
                table.row([_latin(show(v)) for v in row])
    return bytes(pdf.output())


def _trend_rows(pack):
    ids = sorted({i for t in pack["trends"] for i in t["figures"]})
    return [["Quarter", *ids]] + [[t["quarter"], *[percent(t["figures"].get(i)) for i in ids]]
                                  for t in pack["trends"]]


def _overdue_rows(pack):
    return [["Case", "Milestone", "Due on", "Working days overdue"]] + [
        [o["case_id"], o["milestone"], o["due_on"], o["working_days_overdue"]]
        for f in pack["figures"] for o in f.get("overdue", [])]


def _plan_rows(pack):
    return [["Objective", "Action", "Owner", "Original due", "Revised due", "RAG"]] + [
        [o["title"], a["title"], a["owner"], a["original_due"], a["revised_due"] or "",
         RAG_WORDS[a["rag"]]] for o in pack.get("plan", []) for a in o["actions"]]


def _plan_change_rows(pack):
    return [["Objective", "Action", "On", "From", "To", "Reason"]] + [
        [c["objective"], c["action"], c["on"], RAG_WORDS.get(c["from"], "not rated"),
         RAG_WORDS[c["to"]], c["reason"] or ""] for c in pack.get("plan_changes", [])]


def write_pack(pack: dict[str, Any], fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(pack, indent=2, ensure_ascii=False).encode()
    if fmt == "csv":
        return write_csv(pack)
    if fmt == "xlsx":
        return write_xlsx(pack)
    if fmt == "pdf":
        return write_pdf(pack)
    return render_html(pack).encode()


def save_pack(pack: dict[str, Any], fmt: str, out: Path) -> int:
    data = write_pack(pack, fmt)
    out.write_bytes(data)
    return len(data)
