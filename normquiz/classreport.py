"""The class report: one self-contained HTML page of a graded class (`grade-batch --html`).

What an instructor asks after grading is "what did my class not understand?".
The page answers from the BatchResult alone, in this order:

- the class at a glance: learners, errors, a histogram of the totals, median
  and quartiles, and the mistakes seen most often across the class;
- per exercise: mean score, share passed, the statuses as a stacked bar, and
  the mistakes seen on it, ranked by learners, each with its one-line title
  from the content and its explanation one click away;
- the learner × exercise grid, each cell's feedback in a <details>;
- how the report was made: normquiz version, seeds, isolation layers.

The page loads nothing: styles, SVG charts and its one script are inline, and
its Content-Security-Policy allows no fetch and no script but that one (by
hash). Everything learners control (folder names, feedback, error messages)
is HTML-escaped. Without JavaScript the grid is complete, in name order; the
script only adds sorting (by name or total, also from the URL: `#sort=total-desc`)
and records that it ran in `<html data-ran>`, which the browser test reads.
The numbers a test compares with the JSON roster carry data- attributes.

Only the standard library is imported: `grade-batch` loads this module only
when asked for --html.
"""

from __future__ import annotations

import base64
import hashlib
import statistics
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from normquiz.content import Topic
from normquiz.report import ExerciseResult
from normquiz.roster import BatchResult, LearnerResult, MistakeCount
from normquiz.sandbox.runner import printable

# A cell of the grid: the exercise status, with "failed" split by partial credit.
CELL_STATES = ("passed", "partial", "failed", "error", "unanswered")
CELL_LABEL = {"passed": "passed", "partial": "partial credit", "failed": "failed",
              "error": "error or timeout", "unanswered": "not answered"}
CELL_MARK = {"passed": "✓", "partial": "◐", "failed": "✗", "error": "⚠", "unanswered": "·"}
HISTOGRAM_BINS = 10  # of 10 % of the maximum score each; the last includes 100 %
TOP_MISTAKES = 10  # in the class-wide chart; each exercise's section lists all of its own


def write_html(result: BatchResult, path: Path) -> None:
    """Write the class report of `result` to `path` (UTF-8)."""
    # A folder name that is not UTF-8 reaches us with surrogates: shown as \udcNN escapes.
    path.write_text(render_html(result), encoding="utf-8", errors="backslashreplace")


def render_html(result: BatchResult, *, generated: datetime | None = None) -> str:
    """The class report of `result` as one HTML document."""
    generated = generated or datetime.now(timezone.utc)
    topic = result.topic
    script = _SCRIPT.strip()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"
    body = [
        f"<header><h1>{_e(topic.title)}: class report</h1>",
        f"<p class=\"sub\">Topic <code>{_e(topic.slug)}</code> · {len(result.learners)} "
        f"learners · reported {generated:%Y-%m-%d %H:%M} UTC by normquiz {_e(_version())}</p>",
        _unsandboxed_warning(result),
        "<nav><a href=\"#glance\">At a glance</a> <a href=\"#exercises\">Exercises</a> "
        "<a href=\"#grid\">Learners</a> <a href=\"#run\">How this report was made</a>"
        "</nav></header>",
        "<main>",
        _glance(result),
        _exercises(result),
        _grid(result),
        _run(result, generated),
        "</main>",
    ]
    return "\n".join([
        "<!DOCTYPE html>",
        "<html lang=\"en\">",
        "<head>",
        "<meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">",
        f"<title>{_e(topic.slug)}: class report (normquiz)</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        *[part for part in body if part],
        f"<script>{script}</script>",
        "</body>",
        "</html>",
        "",
    ])


# ---------------------------------------------------------------- numbers


def cell_state(x: ExerciseResult) -> str:
    """passed, partial (failed with some credit), failed, error (or timeout), unanswered."""
    if x.status in ("passed", "unanswered"):
        return x.status
    if x.status in ("error", "timeout"):
        return "error"
    return "partial" if x.score > 0 else "failed"


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """(Q1, median, Q3), interpolated between the values as numpy's default does."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def number(x: float) -> str:
    """A score as the page shows it: at most two decimals, no trailing zeros."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "–"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _name(row: LearnerResult) -> str:
    """A learner's folder name, escaped, without control or bidi characters."""
    return _e(printable(row.learner))


def _version() -> str:
    from normquiz import __version__

    return __version__


def _by_id(row: LearnerResult) -> dict[str, ExerciseResult]:
    return {x.id: x for x in row.result.exercises} if row.result is not None else {}


# ---------------------------------------------------------------- sections


def _unsandboxed_warning(result: BatchResult) -> str:
    from normquiz.sandbox.isolation import missing

    gaps = missing(result.isolation) if result.isolation is not None else []
    if not gaps:
        return ""
    return (f"<p class=\"warning\">Graded without {_e(', '.join(gaps))} (--unsandboxed): "
            "learners' code could have forged these grades.</p>")


def _glance(result: BatchResult) -> str:
    graded, errors = result.graded, result.errors
    max_score = result.topic.max_score
    totals = [r.score() for r in graded]
    crashed = [(r, x) for r in graded for x in _by_id(r).values()
               if x.status in ("error", "timeout")]
    stats = [("learners", "Learners", str(len(result.learners))),
             ("graded", "Graded", str(len(graded))),
             ("errors", "Could not be graded", str(len(errors))),
             ("crashed", "Errors and timeouts",
              f"{len(crashed)}<small> exercises of {len({r.learner for r, _ in crashed})} "
              "learners</small>")]
    if totals:
        q1, median, q3 = quartiles(totals)
        stats += [("mean", "Mean", number(statistics.fmean(totals))),
                  ("q1", "1st quartile", number(q1)),
                  ("median", "Median", number(median)),
                  ("q3", "3rd quartile", number(q3))]
    items = "".join(f"<div><dt>{label}</dt><dd data-stat=\"{key}\">{value}</dd></div>"
                    for key, label, value in stats)
    parts = ["<section id=\"glance\"><h2>The class at a glance</h2>",
             f"<dl class=\"stats\">{items}</dl>",
             f"<p class=\"note\">Scores are out of {number(max_score)} points; the statistics "
             f"are over the {len(graded)} graded learners.</p>"]
    if totals:
        parts.append(_histogram(totals, max_score))
    if errors:
        parts.append("<h3>Could not be graded</h3><ul class=\"errors\">")
        for r in errors:
            parts.append(f"<li><strong>{_name(r)}</strong>: <span class=\"message\">"
                         f"{_e(printable(r.error or ''))}</span></li>")
        parts.append("</ul>")
    ranked = result.mistakes()
    parts.append("<h3>Mistakes seen most often</h3>")
    if ranked:
        parts.append(f"<p class=\"note\">Each catalogued mistake diagnosed, with the number of "
                     f"learners who made it (of {len(graded)}); "
                     "<a href=\"#exercises\">per exercise</a> below, with explanations.</p>")
        parts.append(_mistake_bars(result, ranked[:TOP_MISTAKES], len(graded), with_exercise=True))
        if len(ranked) > TOP_MISTAKES:
            parts.append(f"<p class=\"note\">and {len(ranked) - TOP_MISTAKES} more below.</p>")
    else:
        parts.append("<p>No catalogued mistake was diagnosed.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _histogram(totals: list[float], max_score: float) -> str:
    """The totals in bins of 10 % of the maximum, with a box plot of min, quartiles, max."""
    counts = [0] * HISTOGRAM_BINS
    for t in totals:
        share = t / max_score if max_score else 0.0
        counts[min(HISTOGRAM_BINS - 1, max(0, int(share * HISTOGRAM_BINS + 1e-9)))] += 1
    width, left, right, top, plot_h = 640, 40, 12, 14, 150
    plot_w = width - left - right
    slot = plot_w / HISTOGRAM_BINS
    tallest = max(counts)
    step = max(1, -(-tallest // 4))  # about four gridlines, whole learners
    y_max = step * -(-tallest // step)

    def y(count: float) -> float:
        return top + plot_h - plot_h * count / y_max

    out = [f"<figure class=\"chart\"><svg class=\"histogram\" viewBox=\"0 0 {width} 246\" "
           "role=\"img\" aria-labelledby=\"hist-title\">",
           "<title id=\"hist-title\">Learners by total score, in bins of 10 % of the maximum"
           "</title>"]
    for tick in range(0, y_max + 1, step):
        out.append(f"<line class=\"grid\" x1=\"{left}\" x2=\"{width - right}\" y1=\"{y(tick):.1f}\""
                   f" y2=\"{y(tick):.1f}\"/><text class=\"axis\" x=\"{left - 6}\" "
                   f"y=\"{y(tick) + 4:.1f}\" text-anchor=\"end\">{tick}</text>")
    for i, count in enumerate(counts):
        x = left + i * slot
        low, high = 10 * i, 10 * (i + 1)
        span = f"{low}–{high} %" + (" (inclusive)" if i == HISTOGRAM_BINS - 1 else "")
        out.append(f"<g data-bin=\"{i}\" data-count=\"{count}\"><title>{count} learner"
                   f"{'' if count == 1 else 's'} scored {span}</title>")
        if count:
            out.append(f"<rect class=\"bar\" x=\"{x + slot * 0.1:.1f}\" y=\"{y(count):.1f}\" "
                       f"width=\"{slot * 0.8:.1f}\" height=\"{y(0) - y(count):.1f}\"/>"
                       f"<text class=\"count\" x=\"{x + slot / 2:.1f}\" y=\"{y(count) - 4:.1f}\" "
                       f"text-anchor=\"middle\">{count}</text>")
        out.append(f"<text class=\"axis\" x=\"{x + slot / 2:.1f}\" y=\"{top + plot_h + 16}\" "
                   f"text-anchor=\"middle\">{low}–{high}</text></g>")
    out.append(f"<text class=\"axis\" x=\"{left + plot_w / 2}\" y=\"{top + plot_h + 34}\" "
               f"text-anchor=\"middle\">total score, % of {number(max_score)} points</text>")
    # The box plot, on the same scale: whiskers from min to max, box from Q1 to Q3.
    q1, median, q3 = quartiles(totals)

    def x_of(score: float) -> float:
        return left + plot_w * (score / max_score if max_score else 0.0)

    box_y = top + plot_h + 48
    out.append(f"<g class=\"box\"><title>min {number(min(totals))}, Q1 {number(q1)}, median "
               f"{number(median)}, Q3 {number(q3)}, max {number(max(totals))}</title>"
               f"<line x1=\"{x_of(min(totals)):.1f}\" x2=\"{x_of(max(totals)):.1f}\" "
               f"y1=\"{box_y + 10}\" y2=\"{box_y + 10}\"/>"
               f"<rect x=\"{x_of(q1):.1f}\" y=\"{box_y}\" width=\"{x_of(q3) - x_of(q1):.1f}\" "
               f"height=\"20\"/><line class=\"median\" x1=\"{x_of(median):.1f}\" "
               f"x2=\"{x_of(median):.1f}\" y1=\"{box_y - 3}\" y2=\"{box_y + 23}\"/></g>")
    out.append("</svg><figcaption>Bars: learners per 10 % of the maximum score. Below, on the "
               f"same scale: the middle half of the class (from Q1 {number(q1)} to Q3 "
               f"{number(q3)}), the median ({number(median)}), and the lowest and highest "
               "totals.</figcaption></figure>")
    return "\n".join(out)


def _explanation(topic: Topic, exercise_id: str, mistake_id: str) -> str:
    """The content's explanation of a mistake: its feedback, or the choice option's."""
    exercise = topic.exercise(exercise_id)
    for m in getattr(exercise, "mistakes", []):
        if m.id == mistake_id:
            return str(m.feedback)
    for option in getattr(exercise, "options", []):
        if option.mistake == mistake_id:
            return str(option.feedback)
    return ""


def _bar(share: float, css: str = "bar") -> str:
    """A horizontal bar of `share` (0 to 1) of the cell's width."""
    return (f"<svg class=\"hbar\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" "
            f"aria-hidden=\"true\"><rect class=\"track\" width=\"100\" height=\"10\"/>"
            f"<rect class=\"{css}\" width=\"{100 * max(0.0, min(1.0, share)):.2f}\" "
            "height=\"10\"/></svg>")


def _mistake_bars(result: BatchResult, ranked: list[MistakeCount], graded: int, *,
                  with_exercise: bool) -> str:
    """Mistakes as a bar chart: one row each, its bar the share of graded learners."""
    rows = []
    for m in ranked:
        where = f"<code>{_e(m.exercise)}</code> · " if with_exercise else ""
        why = _explanation(result.topic, m.exercise, m.mistake)
        title = _e(m.title) if m.title else "<em>(no title in the content)</em>"
        label = (f"{where}<code>{_e(m.mistake)}</code> {title}" if not why else
                 f"<details><summary>{where}<code>{_e(m.mistake)}</code> {title}</summary>"
                 f"<p class=\"why\">{_e(' '.join(why.split()))}</p></details>")
        rows.append(f"<tr data-exercise=\"{_e(m.exercise)}\" data-mistake=\"{_e(m.mistake)}\">"
                    f"<td class=\"n\" data-learners>{m.learners}</td><td class=\"bar-cell\">"
                    f"{_bar(m.learners / graded if graded else 0, 'bar mistake')}</td>"
                    f"<td class=\"label\">{label}</td></tr>")
    return ("<table class=\"bars\"><colgroup><col class=\"c-n\"><col class=\"c-bar\"><col>"
            "</colgroup><thead><tr><th class=\"n\">Learners</th><th>Share of the class</th>"
            "<th>Mistake <span class=\"screen-only\">(click for the explanation)</span></th>"
            "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _exercises(result: BatchResult) -> str:
    topic = result.topic
    graded = result.graded
    n = len(graded)
    means = result.exercise_means()
    ranked = result.mistakes()
    states: dict[str, dict[str, int]] = {e.id: dict.fromkeys(CELL_STATES, 0)
                                         for e in topic.exercises}
    for r in graded:
        for x in _by_id(r).values():
            if x.id in states:
                states[x.id][cell_state(x)] += 1
    legend = " ".join(f"<span class=\"key s-{s}\">{CELL_MARK[s]} {CELL_LABEL[s]}</span>"
                      for s in CELL_STATES)
    rows = []
    for e in topic.exercises:
        counts = states[e.id]
        seen = sum(1 for m in ranked if m.exercise == e.id)
        stack, start = [], 0.0
        for s in CELL_STATES:
            if counts[s]:
                width = 100 * counts[s] / n
                stack.append(f"<rect class=\"s-{s}\" x=\"{start:.2f}\" width=\"{width:.2f}\" "
                             f"height=\"10\"><title>{counts[s]} {CELL_LABEL[s]}</title></rect>")
                start += width
        breakdown = ", ".join(f"{counts[s]} {CELL_LABEL[s]}" for s in CELL_STATES if counts[s])
        mistakes = (f"<a href=\"#mistakes-{_e(e.id)}\">{seen}</a>" if seen else "0")
        rows.append(
            f"<tr data-exercise=\"{_e(e.id)}\"><th scope=\"row\"><code>{_e(e.id)}</code>"
            f"<br><small>{_e(e.title)}</small></th><td>{_e(e.kind)}</td>"
            f"<td class=\"n\"><span data-mean>{number(means[e.id])}</span> / "
            f"{number(e.points)}</td>"
            f"<td class=\"bar-cell\">{_bar(means[e.id] / e.points if e.points else 0)}</td>"
            f"<td class=\"n\" data-passed=\"{counts['passed']}\">"
            f"{_percent(counts['passed'], n)}</td>"
            f"<td class=\"bar-cell\"><svg class=\"hbar statuses\" viewBox=\"0 0 100 10\" "
            f"preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{_e(breakdown)}\">"
            f"{''.join(stack)}</svg></td><td class=\"n\">{mistakes}</td></tr>")
    parts = ["<section id=\"exercises\"><h2>Per exercise</h2>",
             f"<p class=\"note\">Means and shares over the {n} graded learners. {legend}</p>",
             "<div class=\"scroll\"><table class=\"exercises\"><thead><tr><th>Exercise</th>"
             "<th>Kind</th><th class=\"n\">Mean score</th><th>Mean, share of points</th>"
             "<th class=\"n\">Passed</th><th>Statuses</th><th class=\"n\">Mistakes seen</th>"
             "</tr></thead><tbody>", *rows, "</tbody></table></div>"]
    quiet = 0
    for e in topic.exercises:
        own = [m for m in ranked if m.exercise == e.id]
        if not own:
            quiet += 1
            continue
        parts.append(f"<div class=\"exercise-mistakes\" id=\"mistakes-{_e(e.id)}\">"
                     f"<h3><code>{_e(e.id)}</code> {_e(e.title)}</h3>"
                     f"<p class=\"note\">Mean {number(means[e.id])} of {number(e.points)}, "
                     f"passed by {states[e.id]['passed']} of {n}.</p>"
                     f"{_mistake_bars(result, own, n, with_exercise=False)}</div>")
    if quiet and ranked:
        parts.append(f"<p class=\"note\">No catalogued mistake was diagnosed on the other "
                     f"{quiet} exercises.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _cell(e_id: str, x: ExerciseResult | None, right: bool) -> str:
    """One cell of the grid; `right`: its feedback opens leftwards, to stay on the page."""
    if x is None:
        return "<td class=\"cell s-unanswered\">–</td>"
    state = cell_state(x)
    label = "timeout" if x.status == "timeout" else CELL_LABEL[state]
    tip = f"{e_id}: {label}, {number(x.score)} of {number(x.max_score)}"
    if x.mistakes:
        tip += " · " + ", ".join(x.mistakes)
    shown = f"{CELL_MARK[state]} {number(x.score)}"
    feedback = printable(x.feedback).strip()
    inner = (f"<details><summary>{shown}</summary><div class=\"feedback\"><strong>"
             f"{_e(tip)}</strong>\n{_e(feedback)}</div></details>" if feedback else shown)
    side = " right" if right else ""
    return (f"<td class=\"cell s-{state}{side}\" data-status=\"{_e(x.status)}\" "
            f"title=\"{_e(tip)}\">{inner}</td>")


def _grid(result: BatchResult) -> str:
    topic = result.topic
    ids = [e.id for e in topic.exercises]
    heads = "".join(f"<th class=\"ex\" scope=\"col\" title=\"{_e(e.title)} ({number(e.points)} "
                    f"points)\"><span>{_e(e.id)}</span></th>" for e in topic.exercises)
    rows = []
    for r in result.learners:
        name = _name(r)
        key = _e(printable(r.learner))
        if r.result is None:
            first = (printable(r.error or "").strip().splitlines() or [""])[0]
            rows.append(f"<tr class=\"row-error\" data-name=\"{key}\" data-total=\"-1\">"
                        f"<th scope=\"row\" class=\"learner\" title=\"{key}\">{name}</th>"
                        f"<td class=\"total\" data-status=\"error\">–</td>"
                        f"<td class=\"cell s-error\" colspan=\"{len(ids)}\">⚠ could not be "
                        f"graded: {_e(first[:300])}</td></tr>")
            continue
        by_id = _by_id(r)
        cells = "".join(_cell(i, by_id.get(i), 2 * n > len(ids)) for n, i in enumerate(ids))
        total = r.score()
        rows.append(f"<tr data-name=\"{key}\" data-total=\"{total:.4f}\">"
                    f"<th scope=\"row\" class=\"learner\" title=\"{key}\">{name}</th>"
                    f"<td class=\"total\">{number(total)}</td>{cells}</tr>")
    legend = " ".join(f"<span class=\"key s-{s}\">{CELL_MARK[s]} {CELL_LABEL[s]}</span>"
                      for s in CELL_STATES)
    return "\n".join([
        "<section id=\"grid\"><h2>Learners × exercises</h2>",
        f"<p class=\"note\">{legend}. Each cell shows the score; click it for the feedback "
        "the learner got. <span class=\"js-only\">Sort by name or total with the column "
        "headings.</span></p>",
        # No scrolling box around the grid: it would clip the cells' feedback.
        "<table class=\"grid\" id=\"grid-table\"><thead><tr>"
        "<th scope=\"col\" data-sort=\"name\">Learner</th>"
        f"<th scope=\"col\" data-sort=\"total\">Total<br><small>of {number(topic.max_score)}"
        f"</small></th>{heads}</tr></thead><tbody>",
        *rows,
        "</tbody></table></section>",
    ])


def _run(result: BatchResult, generated: datetime) -> str:
    from normquiz.report import sandbox_json

    sandbox = sandbox_json(result.isolation)
    if sandbox is None:
        layers = ("<p>No learner code ran: this topic has only questions, so no isolation "
                  "layer was needed.</p>")
    else:
        rows = []
        for name, layer in sandbox["layers"].items():
            layer = layer or {"in_force": False, "detail": "not reported"}
            mark, state = ("✓", "in force") if layer["in_force"] else ("✗", "MISSING")
            css = "ok" if layer["in_force"] else "missing"
            rows.append(f"<tr data-layer=\"{_e(name)}\" class=\"{css}\">"
                        f"<th scope=\"row\">{_e(name)}</th><td>{mark} {state}</td>"
                        f"<td>{_e(layer.get('detail', ''))}</td></tr>")
        layers = ("<table class=\"layers\"><thead><tr><th>Layer</th><th>State</th>"
                  "<th>Detail</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    grader = (f"<code>--grader-seed {result.grader_seed}</code>: the same check inputs for "
              "every learner" if result.grader_seed is not None else
              "fresh for each learner (each one's seed is below; <code>normquiz grade "
              "--grader-seed N</code> replays it)")
    seeds = []
    for r in result.learners:
        res = r.result
        seeds.append(f"<tr><th scope=\"row\">{_name(r)}</th>"
                     f"<td>{_e(res.graded_file or '–') if res else '–'}</td>"
                     f"<td>{_e(res.seed) if res and res.seed is not None else '–'}</td>"
                     f"<td>{_e(res.grader_seed) if res and res.grader_seed is not None else '–'}"
                     f"</td><td class=\"n\">{r.seconds:.2f}</td></tr>")
    facts: list[tuple[str, str]] = [
        ("normquiz", _e(_version())),
        ("Topic", f"<code>{_e(result.topic.slug)}</code> ({len(result.topic.exercises)} "
                  f"exercises, {number(result.topic.max_score)} points)"),
        ("Graded", f"{len(result.learners)} learners in {result.seconds:.1f} s; report written "
                   f"{generated:%Y-%m-%d %H:%M:%S} UTC"),
        ("Question seed", f"each learner's own, from their workspace; folders that record "
                          f"none used <code>--seed {result.seed}</code>"),
        ("Grader seed", grader),
        ("Sandbox", "graded with <code>--unsandboxed</code>" if result.unsandboxed else
                    "every layer required (grading refuses to start without one)"),
    ]
    return "\n".join([
        "<section id=\"run\"><h2>How this report was made</h2>",
        "<dl class=\"facts\">" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
        + "</dl>",
        "<h3>Isolation layers in force for the run</h3>",
        layers,
        "<details class=\"seeds\"><summary>Each learner's graded file and seeds</summary>"
        "<table><thead><tr><th>Learner</th><th>Graded file</th><th>Question seed</th>"
        "<th>Grader seed</th><th class=\"n\">Seconds</th></tr></thead><tbody>"
        + "".join(seeds) + "</tbody></table></details>",
        "</section>",
    ])


# ---------------------------------------------------------------- the page's own style and script

_CSS = """
:root{color-scheme:light;--ink:#1d2430;--muted:#5d6675;--line:#d8dde5;--accent:#3b6db3;
--passed:#1e7b34;--passed-bg:#e3f3e6;--partial:#9a5b00;--partial-bg:#fff1d6;
--failed:#b3261e;--failed-bg:#fde7e5;--error:#6b2c91;--error-bg:#f1e4f8;
--unanswered:#6b7280;--unanswered-bg:#f1f2f4}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--ink);background:#fff}
header,main{max-width:1180px;margin:0 auto;padding:0 20px}
header{padding-top:18px;border-bottom:1px solid var(--line)}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:28px 0 8px}
h3{font-size:1.05em;margin:20px 0 6px}
.sub,.note,figcaption{color:var(--muted)}.note{font-size:.92em}
nav{display:flex;gap:18px;padding:6px 0 10px}nav a{color:var(--accent);text-decoration:none}
code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.9em}
.warning{background:var(--failed-bg);color:var(--failed);padding:8px 12px;border-radius:6px;
font-weight:600}
.stats{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.stats div{border:1px solid var(--line);border-radius:8px;padding:6px 12px;min-width:96px}
.stats dt{font-size:.8em;color:var(--muted)}.stats dd{margin:0;font-size:1.5em;font-weight:650}
.stats small{font-size:.5em;font-weight:400;color:var(--muted)}
figure{margin:10px 0}.histogram{width:100%;max-width:720px;height:auto}
.histogram .bar{fill:var(--accent)}.histogram .grid{stroke:var(--line)}
.histogram text{font-size:12px;fill:var(--muted)}.histogram .count{fill:var(--ink)}
.box rect{fill:#dbe6f6;stroke:var(--accent)}.box line{stroke:var(--accent);stroke-width:2}
.box .median{stroke:var(--ink);stroke-width:3}
table{border-collapse:collapse}th,td{text-align:left;vertical-align:top}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bars,.exercises,.layers,.seeds table{width:100%;font-size:.92em}
.bars td,.bars th,.exercises td,.exercises th,.layers td,.layers th,.seeds td,.seeds th{
padding:5px 8px;border-bottom:1px solid var(--line)}
.bars{table-layout:fixed}.bars .c-n{width:6.5em}.bars .c-bar{width:30%}
.exercises .bar-cell{width:16%}.exercises th small{font-weight:400}
.hbar{width:100%;height:14px;display:block;margin-top:3px}
.hbar .track{fill:var(--unanswered-bg)}.hbar .bar{fill:var(--accent)}
.hbar .mistake{fill:var(--failed)}
.hbar .s-passed{fill:var(--passed)}.hbar .s-partial{fill:#e0a030}
.hbar .s-failed{fill:var(--failed)}.hbar .s-error{fill:var(--error)}
.hbar .s-unanswered{fill:#b7bcc6}
details summary{cursor:pointer}.why{margin:4px 0 2px;color:var(--muted);max-width:70em}
.errors .message{white-space:pre-wrap}
.key{display:inline-block;padding:0 6px;border-radius:4px;margin:1px 2px;font-size:.9em}
.scroll{overflow-x:auto}
.grid{font-size:.85em}
.grid th,.grid td{border:1px solid #fff;padding:3px 5px}
.grid thead th{background:#fff;position:sticky;top:0;z-index:2;vertical-align:bottom}
.grid th.ex{height:11em;white-space:nowrap;padding:4px 2px;font-weight:500}
.grid th.ex span{writing-mode:vertical-rl;transform:rotate(180deg)}
.grid .learner{white-space:nowrap;max-width:16em;overflow:hidden;text-overflow:ellipsis;
position:sticky;left:0;background:#fff;z-index:1;font-weight:600}
.grid .total{text-align:right;font-weight:650;font-variant-numeric:tabular-nums}
.grid th button{font:inherit;font-weight:650;border:0;background:none;padding:0;
cursor:pointer;color:var(--accent)}
.cell{position:relative;white-space:nowrap;text-align:center;font-variant-numeric:tabular-nums}
.cell summary{list-style:none}.cell summary::-webkit-details-marker{display:none}
.cell .feedback{position:absolute;z-index:3;left:0;top:100%;width:34em;max-height:24em;
overflow:auto;text-align:left;white-space:pre-wrap;background:#fff;color:var(--ink);
border:1px solid var(--line);border-radius:6px;padding:8px 10px;
box-shadow:0 6px 18px rgba(0,0,0,.18);font-size:.95em}.cell.right .feedback{left:auto;right:0}
.row-error .cell{text-align:left;white-space:normal}
.s-passed{background:var(--passed-bg);color:var(--passed)}
.s-partial{background:var(--partial-bg);color:var(--partial)}
.s-failed{background:var(--failed-bg);color:var(--failed)}
.s-error{background:var(--error-bg);color:var(--error)}
.s-unanswered{background:var(--unanswered-bg);color:var(--unanswered)}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}
.facts dt{font-weight:600}.facts dd{margin:0}
.layers .missing td{color:var(--failed);font-weight:600}
.js-only{display:none}html[data-ran] .js-only{display:inline}
@media print{
@page{size:landscape;margin:12mm}
body{font-size:10pt}nav,.js-only,.screen-only{display:none}
.bars details::details-content{content-visibility:visible;display:block}
header,main{max-width:none;padding:0}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.scroll{overflow:visible}.grid{font-size:7.5pt}
.grid thead{display:table-header-group}.grid thead th,.grid .learner{position:static}
.grid th.ex{height:9em}tr,figure,.exercise-mistakes{break-inside:avoid}
.cell .feedback{display:none}
section{break-before:auto}h2,h3{break-after:avoid}
}
"""

# Sorting of the grid; records that it ran. Kept short: the CSP allows it by its hash.
_SCRIPT = """
(function () {
  var root = document.documentElement;
  root.setAttribute("data-ran", ((root.getAttribute("data-ran") || "") + " report").trim());
  var table = document.getElementById("grid-table");
  var body = table.tBodies[0];
  var heads = table.querySelectorAll("th[data-sort]");
  function byName(a, b) {
    var x = a.dataset.name.toLowerCase(), y = b.dataset.name.toLowerCase();
    if (x === y) { x = a.dataset.name; y = b.dataset.name; }
    return x < y ? -1 : x > y ? 1 : 0;
  }
  function sort(key, desc) {
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var d = key === "total" ? Number(a.dataset.total) - Number(b.dataset.total) : byName(a, b);
      return (desc ? -d : d) || byName(a, b);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.setAttribute("data-sorted", key + (desc ? "-desc" : ""));
    heads.forEach(function (th) {
      th.setAttribute("aria-sort", th.dataset.sort !== key ? "none"
                      : desc ? "descending" : "ascending");
    });
  }
  heads.forEach(function (th) {
    var button = document.createElement("button");
    button.type = "button";
    while (th.firstChild) { button.appendChild(th.firstChild); }
    th.appendChild(button);
    button.addEventListener("click", function () {
      var key = th.dataset.sort, now = table.getAttribute("data-sorted");
      var desc = now === key ? true : now === key + "-desc" ? false : key === "total";
      sort(key, desc);
      try { history.replaceState(null, "", "#sort=" + key + (desc ? "-desc" : "")); }
      catch (e) { /* a page opened where the URL cannot change: sorted all the same */ }
    });
  });
  body.addEventListener("toggle", function (event) {  // one cell's feedback open at a time
    if (!event.target.open) { return; }
    body.querySelectorAll("details[open]").forEach(function (d) {
      if (d !== event.target) { d.open = false; }
    });
  }, true);
  var asked = /^#sort=(name|total)(-desc)?$/.exec(location.hash);
  if (asked) { sort(asked[1], Boolean(asked[2])); }
})();
"""
