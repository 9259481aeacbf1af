"""`grade-batch --html`: the class report, read as HTML and rendered in headless Chromium.

One small class is graded once through the CLI with --html and --json: right,
partial (catalogued mistakes), wrong choice answers, hostile (an endless
loop), broken files (a syntax error; a state file that makes an error row),
and two learners whose folder names are markup. The issue asks for a folder
named `<script>alert(1)</script>`, which Linux cannot hold: a file name cannot
contain '/'. So one name is `<script>alert(1)<\\script>`, the closest Linux
allows (unescaped, it would open a script element that swallows the page up
to the report's own `</script>`), and the other `<img src=x onerror=...>`,
which needs no slash and, unescaped, would run its handler and set
`data-injected` on the page. That learner's code also raises an exception
whose message is markup, so their feedback carries it too.

Chromium renders the report from its command line (--screenshot and
--dump-dom, no driver library), with `#sort=total-desc` in the URL so that
the page's script sorts the grid. That script records that it ran in
`<html data-ran>`, so the dumped DOM tells what ran. A control page,
the same report with the name left unescaped and no Content-Security-Policy,
shows that the check would catch an injection. Set NORMQUIZ_REPORT_SCREENSHOT
to a path to keep the screenshot (docs/class-report.png was made so).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import learners
import numpy as np
import pytest
from click.testing import CliRunner
from helpers import COURSE, needs

from normquiz import classreport
from normquiz.cli import cli
from normquiz.content import Catalog, default_catalog
from normquiz.report import ExerciseResult, TopicResult
from normquiz.roster import BatchResult, LearnerResult
from normquiz.selfcheck import reference_source

CATALOG = default_catalog()
TOPIC = CATALOG.topic("layernorm")
IMG_NAME = "<img src=x onerror=document.documentElement.setAttribute('data-injected','img')>"
SCRIPT_NAME = "<script>alert(1)<\\script>"
FEEDBACK_MARKUP = "<b id=from-feedback>bold</b>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As root (CI here), without the network: see .ci/run.
HEADLESS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", "--force-device-scale-factor=1", "--lang=en-US"]
WINDOW = (1280, 1500)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once: (folder, CLI result, report HTML, JSON roster)."""
    tmp = tmp_path_factory.mktemp("class-report")
    root = tmp / "class"
    c = CATALOG
    learners.correct(c, TOPIC, root / "ann")
    learners.with_mistake(c, TOPIC, root / "dan", "layernorm_forward", "unbiased-variance")
    learners.with_mistake(c, TOPIC, root / "eve", "layernorm_forward", "unbiased-variance")
    learners.with_mistake(c, TOPIC, root / "fay", "layernorm_backward", "missing-mean-path")
    learners.with_wrong_choices(c, TOPIC, root / "gus", "ln_axis", "ln_authors")
    learners.hostile(c, TOPIC, root / "hal", "infinite-loop")
    learners.broken(c, TOPIC, root / "kim", "syntax-error")
    learners.broken(c, TOPIC, root / "nan", "broken-state")
    learners.with_mistake(c, TOPIC, root / SCRIPT_NAME, "layernorm_forward", "eps-outside-sqrt")
    learners.correct(c, TOPIC, root / IMG_NAME)
    module = root / IMG_NAME / "layernorm.py"
    module.write_text(module.read_text() + textwrap.dedent(f"""

        def layernorm_rnn_step(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
            raise ValueError({FEEDBACK_MARKUP!r})
        """))
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        result = CliRunner().invoke(cli, [
            "grade-batch", "class", "--topic", "layernorm", "--jobs", "2", "--timeout", "1",
            "--json", "roster.json", "--html", "report.html"], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    html = (tmp / "report.html").read_text(encoding="utf-8")
    roster = json.loads((tmp / "roster.json").read_text(encoding="utf-8"))
    return tmp, result, html, roster


# ---------------------------------------------------------------- reading the HTML


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def all(self, tag: str | None = None, **attrs: str | bool) -> list[Node]:
        """Descendants with this tag and attributes (True: present; a string: its value;
        for `class_`, one of the classes)."""
        def fits(n: Node) -> bool:
            for key, want in attrs.items():
                name = "class" if key == "class_" else key.replace("_", "-")
                if name not in n.attrs:
                    return False
                have = n.attrs[name] or ""
                if want is not True and (want not in have.split() if name == "class"
                                         else have != want):
                    return False
            return True
        return [n for n in self.iter() if (tag is None or n.tag == tag) and fits(n)]

    def one(self, tag: str | None = None, **attrs: str | bool) -> Node:
        [node] = self.all(tag, **attrs)
        return node


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):  # <rect .../> in SVG
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def same(page_text: str, value: float) -> bool:
    """Whether a number on the page is `value` as the page shows it (two decimals at most)."""
    return abs(float(page_text) - value) <= 0.005 + 1e-9


def grid_rows(page: Node) -> list[Node]:
    return page.one("table", id="grid-table").one("tbody").all("tr")


# ---------------------------------------------------------------- without a browser


def test_grade_batch_writes_the_report_and_says_so(graded):
    tmp, result, html, _ = graded
    assert "the class report to report.html" in result.output
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


def test_learner_names_and_feedback_show_as_text(graded):
    html = graded[2]
    page = parse(html)
    assert [n.tag for n in page.all("script")] == ["script"]  # the report's own, only
    assert not page.all("img") and not page.all("b")
    names = [row.one("th").text() for row in grid_rows(page)]
    assert IMG_NAME in names and SCRIPT_NAME in names
    assert "&lt;img src=x onerror=" in html and "&lt;script&gt;alert(1)&lt;\\script&gt;" in html
    row = next(r for r in grid_rows(page) if r.attrs["data-name"] == IMG_NAME)
    cell = row.all("td", class_="cell")[[e.id for e in TOPIC.exercises].index(
        "layernorm_rnn_step")]
    assert cell.attrs["data-status"] == "error" and FEEDBACK_MARKUP in cell.text()
    assert "&lt;b id=from-feedback&gt;" in html


def test_the_page_loads_nothing_and_allows_only_its_own_script(graded):
    import base64
    import hashlib

    html = graded[2]
    page = parse(html)
    for tag in ("link", "img", "iframe", "object", "embed", "audio", "video", "source"):
        assert not page.all(tag), tag
    assert not re.search(r"(?:src|href)=\"(?!#)", html)  # links only within the page
    assert "url(" not in page.one("style").text() and "@import" not in page.one("style").text()
    csp = page.one("meta", http_equiv="Content-Security-Policy").attrs["content"]
    script = page.one("script").text()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert csp == (f"default-src 'none'; style-src 'unsafe-inline'; "
                   f"script-src 'sha256-{digest}'")


def test_the_grid_is_in_the_html_without_javascript(graded):
    _, _, html, roster = graded
    page = parse(html)
    rows = grid_rows(page)
    assert [r.attrs["data-name"] for r in rows] == [r["learner"] for r in roster["learners"]]
    heads = page.one("table", id="grid-table").all("th", class_="ex")
    assert [h.text() for h in heads] == [e.id for e in TOPIC.exercises]
    for row, learner in zip(rows, roster["learners"]):
        if learner["status"] == "error":
            assert "could not be graded" in row.text() and "row-error" in row.attrs["class"]
            continue
        cells = row.all("td", class_="cell")
        assert [c.attrs["data-status"] for c in cells] == [
            e["status"] for e in learner["exercises"]]
        for cell, e in zip(cells, learner["exercises"]):
            if e["feedback"].strip():  # the feedback, one click away, no script needed
                assert cell.all("details") and cell.one("summary")
    assert "@media print" in page.one("style").text()
    assert page.one("table", id="grid-table").all("th", data_sort=True)  # sortable with JS


def test_the_svgs_are_well_formed_and_hold_the_numbers(graded):
    _, _, html, roster = graded
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.DOTALL)
    assert svgs
    for svg in svgs:
        ET.fromstring(svg)  # XML: every tag closed, every attribute quoted and escaped
    page = parse(html)
    max_score = roster["max_score"]
    totals = [r["score"] for r in roster["learners"] if r["status"] == "graded"]
    bins = [0] * 10
    for t in totals:
        bins[min(9, int(10 * t / max_score + 1e-9))] += 1
    histogram = page.one("svg", class_="histogram")
    assert [int(g.attrs["data-count"]) for g in histogram.all("g", data_bin=True)] == bins
    # The mistakes ranked as in the roster's summary, class-wide and on each exercise.
    summary = [(m["exercise"], m["mistake"], m["learners"], m["title"])
               for m in roster["summary"]["mistakes"]]
    glance = page.one("section", id="glance").one("table", class_="bars")
    assert [(r.attrs["data-exercise"], r.attrs["data-mistake"],
             int(r.one("td", data_learners=True).text()), )
            for r in glance.one("tbody").all("tr")] == [s[:3] for s in summary]
    for exercise, mistake, _, title in summary:
        assert title, (exercise, mistake)  # every mistake has its one line, choices too
        block = page.one("div", id=f"mistakes-{exercise}")
        row = block.one("tr", data_mistake=mistake)
        assert title in row.text() and row.one("p", class_="why").text()
    assert ("ln_authors", "misnamed-author") in [s[:2] for s in summary]
    # Each exercise's stacked status bar covers the graded learners, no more, no less.
    for row in page.one("table", class_="exercises").one("tbody").all("tr"):
        widths = [float(r.attrs["width"]) for r in row.one("svg", class_="statuses").all("rect")]
        assert sum(widths) == pytest.approx(100, abs=0.05), row.attrs["data-exercise"]


def test_quartiles_interpolate_as_numpy_does():
    for values in ([3.0], [1.0, 2.0], [5.0, 1.0, 4.0, 2.5], list(np.linspace(0, 26, 17))):
        expected = np.percentile(values, [25, 50, 75])
        assert classreport.quartiles(values) == pytest.approx(expected)


def _toy_row(name: str, scores: dict[str, tuple[str, float]], feedback: str = "") -> LearnerResult:
    topic = Catalog([COURSE]).topic("toy")
    exercises = [ExerciseResult(e.id, e.kind, e.title, scores[e.id][0], scores[e.id][1],
                                e.points, feedback=feedback) for e in topic.exercises]
    return LearnerResult(name, TopicResult("toy", exercises), None, 0.1)


def test_a_class_with_no_graded_learner_or_a_missing_layer_still_reports(toy_catalog):
    topic = toy_catalog.topic("toy")
    nobody = BatchResult(topic, [LearnerResult("a&b", None, "broken <state>", 0.0)])
    page = parse(classreport.render_html(nobody))
    assert page.one("dd", data_stat="graded").text() == "0"
    assert not page.all("svg", class_="histogram")
    assert "No learner code ran" in page.text() and "broken <state>" in page.text()
    one = BatchResult(topic, [_toy_row("solo", {"center": ("failed", 1.0),
                                                "scale": ("passed", 1.0),
                                                "toy_mean": ("error", 0.0),
                                                "toy_choice": ("unanswered", 0.0)},
                                       feedback="x < y & z")],
                      isolation={"rlimits": {"in_force": True, "detail": "ok"},
                                 "seccomp": {"in_force": False, "detail": "no libseccomp"}},
                      unsandboxed=True, seed=7, grader_seed=99)
    page = parse(classreport.render_html(one))
    assert page.one("dd", data_stat="median").text() == "2"
    assert "Graded without user, landlock, seccomp" in page.one("p", class_="warning").text()
    assert page.one("tr", data_layer="seccomp").attrs["class"] == "missing"
    cells = page.one("tr", data_name="solo").all("td", class_="cell")
    assert [c.attrs["class"].split()[1] for c in cells] == [
        "s-partial", "s-passed", "s-error", "s-unanswered"]
    assert "x < y & z" in cells[0].one("div", class_="feedback").text()
    run = page.one("section", id="run").text()
    assert "--seed 7" in run and "--grader-seed 99" in run


def test_grade_batch_without_html_does_not_load_the_builder(tmp_path, run, monkeypatch):
    catalog = Catalog([COURSE])
    topic = catalog.topic("toy")
    folder = tmp_path / "class" / "ann"
    folder.mkdir(parents=True)
    (folder / "toy.py").write_text(reference_source(topic))
    monkeypatch.setitem(sys.modules, "normquiz.classreport", None)  # importing it fails
    result = run("grade-batch", "class", "--topic", "toy", "--jobs", "1", toy=True)
    assert result.exit_code == 0, result.output
    with pytest.raises(ImportError):
        run("grade-batch", "class", "--topic", "toy", "--jobs", "1", "--html", "r.html",
            toy=True)


# ---------------------------------------------------------------- in Chromium


def png_scanlines(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the (still filtered) scanlines of a non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
        pos += 12 + length
    assert interlace == 0 and depth == 8
    stride = 1 + width * {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = zlib.decompress(b"".join(idat))
    return width, height, [raw[i * stride:(i + 1) * stride] for i in range(height)]


def _chromium(profile: Path, url: str, *args: str) -> subprocess.Popen:
    """Chromium on `url`, headless, with a fresh profile in `profile`."""
    return subprocess.Popen([CHROMIUM, *HEADLESS, f"--user-data-dir={profile}", *args, url],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


@pytest.fixture(scope="module")
def browser(graded):
    """The report in Chromium: a screenshot and the DOM after the page's script ran (asked
    by the URL to sort the grid by total), and, at the same time, the control page's DOM."""
    needs(CHROMIUM is not None, "Chromium (Debian's chromium package; .ci/run installs it)")
    tmp, _, html, _ = graded
    report = (tmp / "report.html").as_uri()
    control = tmp / "control.html"
    # The same page with one name left unescaped, and without the CSP that would stop it.
    page = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", html)
    control.write_text(page.replace(">" + classreport._e(IMG_NAME) + "<", ">" + IMG_NAME + "<", 1),
                       encoding="utf-8")
    width, height = WINDOW
    shot = tmp / "report.png"
    runs = {
        "dom": _chromium(tmp / "profile-1", report + "#sort=total-desc", f"--screenshot={shot}",
                         f"--window-size={width},{height}", "--dump-dom"),
        "control": _chromium(tmp / "profile-2", control.as_uri(), "--dump-dom"),
    }
    out = {}
    for key, process in runs.items():
        stdout, _ = process.communicate(timeout=120)
        assert process.returncode == 0, f"chromium ({key}) exited {process.returncode}"
        out[key] = stdout
    if os.environ.get("NORMQUIZ_REPORT_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["NORMQUIZ_REPORT_SCREENSHOT"])
    return out, shot.read_bytes()


def test_chromium_shows_the_report_not_a_blank_page(browser):
    _, png = browser
    width, height, rows = png_scanlines(png)
    assert (width, height) == WINDOW
    # A one-colour image has identical rows, and each of PNG's five filters turns identical
    # rows into identical bytes: at most ten distinct scanlines (the first row sees zeros
    # above it). Text, charts and table cells make hundreds.
    assert len(set(rows)) > 100


def test_in_chromium_only_the_reports_own_script_ran(browser):
    out, _ = browser
    dom = parse(out["dom"])
    html = dom.one("html")
    assert html.attrs.get("data-ran") == "report"  # the page's script ran, once
    assert "data-injected" not in html.attrs
    assert len(dom.all("script")) == 1 and not dom.all("img") and not dom.all("b")
    names = [row.one("th").text() for row in grid_rows(dom)]
    assert IMG_NAME in names and SCRIPT_NAME in names  # shown, as text
    # The sort buttons the script adds: the grid is sortable once JavaScript runs.
    buttons = [th.one("button").text() for th in dom.all("th", data_sort=True)]
    assert buttons[0] == "Learner" and buttons[1].startswith("Total")


def test_the_check_would_catch_an_unescaped_name(browser):
    out, _ = browser
    html = parse(out["control"]).one("html")
    assert html.attrs.get("data-injected") == "img" and html.attrs.get("data-ran") == "report"


def test_the_numbers_in_chromium_equal_the_json_roster(browser, graded):
    roster = graded[3]
    dom = parse(browser[0]["dom"])
    stat = {n.attrs["data-stat"]: n for n in dom.all("dd", data_stat=True)}
    rows = roster["learners"]
    graded_rows = [r for r in rows if r["status"] == "graded"]
    assert int(stat["learners"].text()) == len(rows) == 10
    assert int(stat["graded"].text()) == roster["summary"]["graded"] == 9
    assert int(stat["errors"].text()) == roster["summary"]["errors"] == 1
    totals = [r["score"] for r in graded_rows]
    q1, median, q3 = np.percentile(totals, [25, 50, 75])
    for key, value in [("median", median), ("q1", q1), ("q3", q3), ("mean", np.mean(totals))]:
        assert same(stat[key].text(), value), key
    by_name = {r["learner"]: r for r in rows}
    for row in grid_rows(dom):
        learner = by_name[row.attrs["data-name"]]
        total = row.one("td", class_="total").text()
        if learner["status"] == "error":
            assert total == "–"
        else:
            assert same(total, learner["score"]), learner["learner"]
            cells = [(c.all("summary") or [c])[0].text().split()[1]
                     for c in row.all("td", class_="cell")]
            assert all(same(c, e["score"]) for c, e in zip(cells, learner["exercises"]))
            assert len(cells) == len(learner["exercises"])
    means = roster["summary"]["exercise_means"]
    for row in dom.one("table", class_="exercises").one("tbody").all("tr"):
        mean = row.one("span", data_mean=True).text()
        assert same(mean, means[row.attrs["data-exercise"]]), row.attrs["data-exercise"]
    assert len(dom.one("table", class_="exercises").one("tbody").all("tr")) == len(means)


def test_the_grid_sorts_by_total_in_chromium(browser, graded):
    dom = parse(browser[0]["dom"])
    rows = grid_rows(dom)
    totals = [float(r.attrs["data-total"]) for r in rows]
    assert totals == sorted(totals, reverse=True) and rows[-1].attrs["data-name"] == "nan"
    assert totals != [float(r.attrs["data-total"]) for r in grid_rows(parse(graded[2]))]
    assert dom.one("table", id="grid-table").attrs["data-sorted"] == "total-desc"
