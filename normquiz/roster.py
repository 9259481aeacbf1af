"""A graded class: the roster (CSV, JSON), per-learner reports, and the summary.

The summary is what an instructor reads first: the mean score of each
exercise, then the mistakes seen across the class, ranked by how many
learners made them, then the folders that could not be graded and why.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from normquiz.content import Topic
from normquiz.report import ExerciseResult, TopicResult, sandbox_json
from normquiz.sandbox.isolation import missing
from normquiz.sandbox.runner import printable


@dataclass
class LearnerResult:
    """One learner's row: their result, or why their folder could not be graded."""

    learner: str
    result: TopicResult | None
    error: str | None = None
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return "error" if self.result is None else "graded"

    def score(self) -> float:
        return self.result.score if self.result is not None else 0.0

    def to_json(self, topic: Topic) -> dict[str, Any]:
        """The result JSON of `normquiz grade --json`, plus learner, status and error."""
        if self.result is not None:
            body = self.result.to_json()
        else:
            body = {"topic": topic.slug, "score": 0.0, "max_score": topic.max_score,
                    "graded_file": None, "seed": None, "grader_seed": None, "exercises": []}
        return {"learner": self.learner, "status": self.status, "error": self.error,
                "seconds": round(self.seconds, 3), **body}


def _exercises(row: LearnerResult) -> list[ExerciseResult]:
    """A learner's exercise results; none for a folder that could not be graded."""
    return row.result.exercises if row.result is not None else []


def _num(x: float) -> str:
    return f"{round(x, 4):g}"


def mistake_title(topic: Topic, exercise_id: str, mistake_id: str) -> str:
    """A mistake's one-line explanation: its title where the exercise declares it, else
    where another exercise of the topic does; for a choice option naming a mistake that
    no exercise declares, the option's text."""
    exercise = topic.exercise(exercise_id)
    for e in [exercise, *topic.exercises]:
        for m in getattr(e, "mistakes", []):
            if m.id == mistake_id:
                return m.title
    for option in getattr(exercise, "options", []):
        if option.mistake == mistake_id:
            return f"Answered “{' '.join(option.text.split())}”"
    return ""


@dataclass
class MistakeCount:
    exercise: str
    mistake: str
    title: str
    learners: int


@dataclass
class BatchResult:
    topic: Topic
    learners: list[LearnerResult]
    seconds: float = 0.0
    isolation: dict[str, Any] | None = None  # what a worker of this run reported
    unsandboxed: bool = False  # graded even though a layer was missing
    seed: int = 0  # the numeric questions' seed of folders that record none
    grader_seed: int | None = None  # the checks' inputs for every learner; None: fresh each

    @property
    def graded(self) -> list[LearnerResult]:
        return [r for r in self.learners if r.result is not None]

    @property
    def errors(self) -> list[LearnerResult]:
        return [r for r in self.learners if r.result is None]

    def exercise_means(self) -> dict[str, float]:
        """Mean score of each exercise over the learners that could be graded."""
        graded = self.graded
        means = {}
        for e in self.topic.exercises:
            scores = [x.score for r in graded for x in _exercises(r) if x.id == e.id]
            means[e.id] = sum(scores) / len(graded) if graded else 0.0
        return means

    def mistakes(self) -> list[MistakeCount]:
        """(exercise, mistake) pairs by the number of learners diagnosed with them."""
        counts: Counter[tuple[str, str]] = Counter()
        for r in self.graded:
            for x in _exercises(r):
                for m in set(x.mistakes):
                    counts[(x.id, m)] += 1
        order = {e.id: i for i, e in enumerate(self.topic.exercises)}
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0][0], 0), kv[0][1]))
        out = []
        for (exercise_id, mistake_id), n in ranked:
            out.append(MistakeCount(exercise_id, mistake_id,
                                    mistake_title(self.topic, exercise_id, mistake_id), n))
        return out

    # ------------------------------------------------------------ files

    def write_csv(self, path: Path) -> None:
        """One row per learner: a score column per exercise, then total and max."""
        ids = [e.id for e in self.topic.exercises]
        max_score = self.topic.max_score
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["learner", "status", *ids, "total", "max", "error"])
            for r in self.learners:
                scores = {x.id: _num(x.score) for x in r.result.exercises} if r.result else {}
                writer.writerow([r.learner, r.status, *(scores.get(i, "") for i in ids),
                                 _num(r.score()), _num(max_score), r.error or ""])

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic.slug,
            "max_score": self.topic.max_score,
            "seconds": round(self.seconds, 3),
            "learners": [r.to_json(self.topic) for r in self.learners],
            "summary": {
                "graded": len(self.graded),
                "errors": len(self.errors),
                "exercise_means": {k: round(v, 4) for k, v in self.exercise_means().items()},
                "mistakes": [vars(m) for m in self.mistakes()],
            },
            "sandbox": sandbox_json(self.isolation),
            "unsandboxed": self.unsandboxed,
            "seed": self.seed,
            "grader_seed": self.grader_seed,
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")

    def write_reports(self, folder: Path, fmt: str) -> list[Path]:
        """One report per learner in `fmt` (text, json, gradescope, junit) into `folder`."""
        from normquiz import formats

        folder.mkdir(parents=True, exist_ok=True)
        suffix = {"text": ".txt", "json": ".json", "gradescope": ".json", "junit": ".xml"}[fmt]
        written = []
        for r in self.learners:
            if r.result is not None:
                text = (json.dumps(r.to_json(self.topic), indent=2, ensure_ascii=False)
                        if fmt == "json" else formats.render(r.result, fmt, r.seconds))
            elif fmt == "gradescope":
                text = json.dumps(formats.gradescope_error(r.error or "", self.topic.max_score,
                                                           r.seconds), indent=2)
            elif fmt == "junit":
                text = formats.junit_document([formats.junit_error_suite(
                    self.topic.slug, r.error or "", r.learner, r.seconds)])
            elif fmt == "json":
                text = json.dumps(r.to_json(self.topic), indent=2, ensure_ascii=False)
            else:
                text = f"Could not be graded: {r.error}"
            path = folder / f"{r.learner}{suffix}"
            path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
            written.append(path)
        return written

    # ------------------------------------------------------------ the summary

    def summary_text(self) -> str:
        graded, errors = self.graded, self.errors
        lines = [f"{self.topic.slug}: {len(self.learners)} learners in {self.seconds:.1f} s "
                 f"({len(graded)} graded, {len(errors)} could not be graded)."]
        gaps = missing(self.isolation) if self.isolation is not None else []
        if gaps:
            lines.append(f"Warning: graded without {', '.join(gaps)} (--unsandboxed): "
                         "learners' code could have forged these grades.")
        if graded:
            lines += ["", f"Mean score per exercise ({len(graded)} graded learners)"]
            width = max(len(e.id) for e in self.topic.exercises)
            means = self.exercise_means()
            for e in self.topic.exercises:
                passed = sum(x.status == "passed" for r in graded for x in _exercises(r)
                             if x.id == e.id)
                pct = 100 * means[e.id] / e.points if e.points else 0
                lines.append(f"  {e.id:<{width}}  {means[e.id]:5.2f} / {e.points:<4g} {pct:4.0f}%"
                             f"   passed by {passed}")
            total = sum(r.score() for r in graded) / len(graded)
            max_score = self.topic.max_score
            lines.append(f"  {'total':<{width}}  {total:5.2f} / {max_score:<4g} "
                         f"{100 * total / max_score if max_score else 0:4.0f}%")
            lines += ["", "Mistakes seen, by number of learners"]
            ranked = self.mistakes()
            if not ranked:
                lines.append("  none diagnosed")
            for m in ranked:
                lines.append(f"  {m.learners:>3}  {m.exercise}  {m.mistake}"
                             + (f"  ({m.title})" if m.title else ""))
        if errors:
            lines += ["", "Could not be graded"]
            for r in errors:
                first = (r.error or "").strip().splitlines()[0] if r.error else ""
                lines.append(printable(f"  {r.learner}: {first[:300]}"))
        return "\n".join(lines)
