"""Find and load course content: topics, manifests, reference solutions.

Every content path is derived here from a topic slug and an exercise id, so
the layout (docs/content-format.md) is written down in exactly one place.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, Literal, cast

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from normquiz.errors import ContentError, did_you_mean

PACKAGE_DIR = Path(__file__).resolve().parent
CONTENT_FOLDERS = ("exercises", "solutions", "grader", "quizzes")

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)]
MistakeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _known_picture(name: str) -> str:
    from normquiz.diagrams import PICTURES

    if name not in PICTURES:
        raise ValueError(f"unknown picture {name!r}; one of: {', '.join(PICTURES)}")
    return name


PictureName = Annotated[str, AfterValidator(_known_picture)]


# ---------------------------------------------------------------- schema


class _Model(BaseModel):
    # Unknown keys are errors: a typo in a field name must not pass silently.
    model_config = ConfigDict(extra="forbid", frozen=True)


# When Gradescope shows learners a test (its own values).
Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]


class TopicManifest(_Model):
    """exercises/<topic>/topic.yaml"""

    title: Text
    summary: Text
    module: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.py$")] | None = None
    exercises: list[Slug] = Field(min_length=1)
    # Of the score and each test in a Gradescope autograder, unless an exercise says
    # otherwise or `export gradescope --visibility` overrides it.
    gradescope_visibility: Visibility = "visible"

    @model_validator(mode="after")
    def _unique(self) -> TopicManifest:
        seen = [e for i, e in enumerate(self.exercises) if e in self.exercises[:i]]
        if seen:
            raise ValueError(f"exercise '{seen[0]}' is listed twice")
        return self


class Mistake(_Model):
    """A recognized mistake: an id from errata.md and the feedback that explains it."""

    id: MistakeId
    title: Text
    feedback: Text


class _Exercise(_Model):
    id: Slug
    kind: str  # each kind's own class narrows it to one Literal
    title: Text
    points: float = Field(default=1.0, gt=0)
    prompt: Text
    explanation: Text
    hints: list[Text] = Field(min_length=1)
    # A function in quizzes/<topic>/generators.py, called with the exercise id,
    # whose text `normquiz explain` shows after the explanation (computed live).
    demonstration: Slug | None = None
    # One of normquiz.diagrams.PICTURES: `normquiz explain` draws it in the terminal
    # (`--plot FILE` writes its figure) and the topic's notebook shows it as a figure.
    picture: PictureName | None = None
    # This exercise's test in a Gradescope autograder (default: the topic's).
    gradescope_visibility: Visibility | None = None

    @property
    def is_question(self) -> bool:
        return self.kind != "code"


class _WithMistakes(_Exercise):
    mistakes: list[Mistake] = []

    @model_validator(mode="after")
    def _unique_mistakes(self) -> _WithMistakes:
        ids = [m.id for m in self.mistakes]
        dup = [m for i, m in enumerate(ids) if m in ids[:i]]
        if dup:
            raise ValueError(f"mistake '{dup[0]}' is declared twice")
        return self

    def mistake(self, mistake_id: str) -> Mistake:
        return next(m for m in self.mistakes if m.id == mistake_id)


class CodeExercise(_WithMistakes):
    """exercises/<topic>/<id>.yaml: the learner writes a function."""

    kind: Literal["code"]
    function: Slug
    signature: Text


class NumericQuestion(_WithMistakes):
    """quizzes/<topic>/<id>.yaml: a number (or list) computed from seeded data."""

    kind: Literal["numeric"]
    generator: Slug
    answer_format: Text
    tolerance: float = Field(default=1e-3, gt=0)


class Option(_Model):
    text: Text
    feedback: Text
    correct: bool = False
    mistake: MistakeId | None = None


class ChoiceQuestion(_Exercise):
    """quizzes/<topic>/<id>.yaml: one correct option among several."""

    kind: Literal["choice"]
    options: list[Option] = Field(min_length=2, max_length=26)

    @model_validator(mode="after")
    def _one_correct(self) -> ChoiceQuestion:
        n = sum(o.correct for o in self.options)
        if n != 1:
            raise ValueError(f"exactly one option must have 'correct: true' (found {n})")
        return self

    @property
    def letters(self) -> list[str]:
        return [chr(ord("a") + i) for i in range(len(self.options))]

    @property
    def correct_letter(self) -> str:
        return next(ch for ch, o in zip(self.letters, self.options) if o.correct)


Exercise = CodeExercise | NumericQuestion | ChoiceQuestion
_KINDS: dict[str, type[_Exercise]] = {
    "code": CodeExercise,
    "numeric": NumericQuestion,
    "choice": ChoiceQuestion,
}


# ---------------------------------------------------------------- YAML with line numbers


def display_path(path: Path) -> str:
    """A path as a person wants to read it: relative to cwd or to its content root."""
    path = Path(path)
    for base in (Path.cwd(), builtin_root()):
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse a YAML file, keeping the node tree so errors can name a line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContentError(f"{display_path(path)} does not exist.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ContentError(f"{display_path(path)} cannot be read: {e}.") from None
    return parse_yaml(text, display_path(path))


def parse_yaml(text: str, where: str, *, learner: bool = False) -> tuple[Any, yaml.Node | None]:
    """Parse YAML text; a syntax error becomes one line naming file and line.

    `learner`: the text is a learner's (answers.yaml): anchors and aliases are
    refused before anything is built from them (normquiz.learnerfiles).
    """
    from normquiz.learnerfiles import LearnerLoader, Refused

    loader_type = LearnerLoader if learner else yaml.SafeLoader
    try:
        node = yaml.compose(text, Loader=loader_type)
        if node is None:
            return None, None
        loader = loader_type("")
        try:
            return loader.construct_document(node), node
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f", line {mark.line + 1}" if mark else ""
        problem = e.problem or e.context or "invalid YAML"
        kind = "" if isinstance(e, Refused) else "YAML syntax error: "
        raise ContentError(f"{where}{line}: {kind}{problem}.") from None
    except yaml.reader.ReaderError as e:  # a control character: not a MarkedYAMLError
        before = text[:e.position]
        char = e.character if isinstance(e.character, int) else ord(e.character)
        raise ContentError(f"{where}, line {before.count(chr(10)) + 1}: YAML does not allow "
                           f"the control character U+{char:04X}; remove it.") from None
    except RecursionError:
        raise ContentError(f"{where}: the YAML is nested too deeply to be read.") from None


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the value at `loc` (keys and list indexes), or its nearest parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == key]
            if not match:
                break
            node = match[0][1] if isinstance(key, str) else match[0][0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _describe(error: Mapping[str, Any], node: yaml.Node | None, where: str) -> str:
    loc = tuple(error["loc"])
    line = line_of(node, loc)
    place = f"{where}, line {line}" if line else where
    dotted = ".".join(str(p) for p in loc)
    msg = error["msg"]
    if error["type"] == "extra_forbidden":
        return f"{place}: unknown field '{dotted}' (see docs/content-format.md for the fields)."
    if error["type"] == "missing":
        return f"{place}: missing required field '{dotted}'."
    msg = msg.removeprefix("Value error, ")
    field_text = f"field '{dotted}'" if dotted else "this file"
    return f"{place}, {field_text}: {msg[0].lower() + msg[1:]}."


def validate(model: type[_Model], data: Any, node: yaml.Node | None, where: str) -> Any:
    """Validate `data` against `model`; every problem becomes one line with file, line, field."""
    problems = validation_problems(model, data, node, where)
    if problems:
        raise ContentError("\n".join(problems))
    return model.model_validate(data)


def validation_problems(model: type[_Model], data: Any, node: Any, where: str) -> list[str]:
    if not isinstance(data, dict):
        return [f"{where}: expected a mapping of fields, got {type(data).__name__}."]
    try:
        model.model_validate(data)
    except ValidationError as e:
        return [_describe(err, node, where) for err in e.errors()]
    return []


def load_manifest(path: Path, expected_id: str) -> Exercise:
    data, node = read_yaml(path)
    where = display_path(path)
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in _KINDS:
        line = line_of(node, ("kind",))
        raise ContentError(
            f"{where}{f', line {line}' if line else ''}, field 'kind': expected one of "
            f"code, numeric, choice, got {kind!r}."
        )
    problems = validation_problems(_KINDS[kind], data, node, where)
    if data.get("id") != expected_id:
        problems.append(f"{where}, line {line_of(node, ('id',))}, field 'id': "
                        f"{data.get('id')!r} does not match the file name '{expected_id}'.")
    if problems:
        raise ContentError("\n".join(problems))
    return cast(Exercise, _KINDS[kind].model_validate(data))


# ---------------------------------------------------------------- topics and roots


def builtin_root() -> Path:
    """The shipped content: inside the installed wheel, or the source checkout."""
    packaged = PACKAGE_DIR / "content"
    if (packaged / "exercises").is_dir():
        return packaged
    return PACKAGE_DIR.parent


@dataclass(frozen=True)
class TopicPaths:
    """Where a topic's files live in a content folder (docs/content-format.md): the one
    place that spells the layout, for a loaded topic and for one being scaffolded."""

    root: Path
    slug: str
    module: str | None = None

    def dir(self, folder: str) -> Path:
        return self.root / folder / self.slug

    @property
    def order_file(self) -> Path:
        return self.root / "exercises" / "order.yaml"

    @property
    def topic_file(self) -> Path:
        return self.dir("exercises") / "topic.yaml"

    @property
    def stub_path(self) -> Path:
        return self.dir("exercises") / str(self.module)

    @property
    def solution_path(self) -> Path:
        return self.dir("solutions") / str(self.module)

    @property
    def generators_path(self) -> Path:
        return self.dir("quizzes") / "generators.py"

    def manifest_path(self, exercise_id: str, kind_is_code: bool) -> Path:
        return self.dir("exercises" if kind_is_code else "quizzes") / f"{exercise_id}.yaml"

    def mistakes_path(self, exercise_id: str) -> Path:
        return self.dir("solutions") / "mistakes" / f"{exercise_id}.py"

    def grader_path(self, exercise_id: str) -> Path:
        return self.dir("grader") / f"test_{exercise_id}.py"


@dataclass
class Topic:
    """One topic: its manifest, exercises in order, and the paths of its files."""

    slug: str
    root: Path
    manifest: TopicManifest
    exercises: list[Exercise] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.manifest.title

    @property
    def module(self) -> str | None:
        return self.manifest.module

    @property
    def shipped(self) -> bool:
        """Whether the topic comes with normquiz (not from an instructor's content folder)."""
        return self.root.resolve() == builtin_root().resolve()

    @property
    def code_exercises(self) -> list[CodeExercise]:
        return [e for e in self.exercises if isinstance(e, CodeExercise)]

    @property
    def questions(self) -> list[Exercise]:
        return [e for e in self.exercises if not isinstance(e, CodeExercise)]

    @property
    def max_score(self) -> float:
        """The topic's points: every exercise's and question's."""
        return float(sum(e.points for e in self.exercises))

    def exercise(self, exercise_id: str) -> Exercise:
        for e in self.exercises:
            if e.id == exercise_id:
                return e
        ids = [e.id for e in self.exercises]
        raise ContentError(
            f"Topic '{self.slug}' has no exercise '{exercise_id}'."
            f"{did_you_mean(exercise_id, ids)} Its exercises: {', '.join(ids)}."
        )

    # Paths, all derived from the slug and ids: see TopicPaths.
    @property
    def paths(self) -> TopicPaths:
        return TopicPaths(self.root, self.slug, self.module)

    def dir(self, folder: str) -> Path:
        return self.paths.dir(folder)

    @property
    def topic_file(self) -> Path:
        return self.paths.topic_file

    @property
    def stub_path(self) -> Path:
        return self.paths.stub_path

    @property
    def solution_path(self) -> Path:
        return self.paths.solution_path

    @property
    def generators_path(self) -> Path:
        return self.paths.generators_path

    def manifest_path(self, exercise_id: str, kind_is_code: bool) -> Path:
        return self.paths.manifest_path(exercise_id, kind_is_code)

    def mistakes_path(self, exercise_id: str) -> Path:
        return self.paths.mistakes_path(exercise_id)

    def grader_path(self, exercise_id: str) -> Path:
        return self.paths.grader_path(exercise_id)


def _load_topic(slug: str, root: Path) -> Topic:
    """Load a topic; every problem in its files is reported at once, one per line."""
    topic = Topic(slug, root, TopicManifest.model_construct())
    data, node = read_yaml(topic.topic_file)
    topic.manifest = validate(TopicManifest, data, node, display_path(topic.topic_file))
    problems: list[str] = []
    for exercise_id in topic.manifest.exercises:
        code_path = topic.manifest_path(exercise_id, True)
        quiz_path = topic.manifest_path(exercise_id, False)
        if code_path.exists() and quiz_path.exists():
            problems.append(f"Exercise '{exercise_id}' of topic '{slug}' has two manifests: "
                            f"{display_path(code_path)} and {display_path(quiz_path)}. Keep one.")
            continue
        path = code_path if code_path.exists() else quiz_path
        if not path.exists():
            problems.append(f"{display_path(topic.topic_file)} lists '{exercise_id}', but "
                            f"neither {display_path(code_path)} nor {display_path(quiz_path)} "
                            "exists.")
            continue
        try:
            manifest = load_manifest(path, exercise_id)
        except ContentError as e:
            problems.append(str(e))
            continue
        if (path == code_path) != (manifest.kind == "code"):
            problems.append(f"{display_path(path)}: a {manifest.kind} exercise belongs in "
                            f"{'exercises' if manifest.kind == 'code' else 'quizzes'}/{slug}/.")
        topic.exercises.append(manifest)
    if topic.code_exercises and topic.module is None:
        problems.append(f"{display_path(topic.topic_file)}: topic '{slug}' has code exercises, "
                        "so it needs a 'module' field naming the learner's file.")
    if problems:
        raise ContentError("\n".join(problems))
    return topic


def _root_topics(root: Path) -> list[str]:
    order_file = root / "exercises" / "order.yaml"
    data, node = read_yaml(order_file)
    if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
        raise ContentError(f"{display_path(order_file)}: expected a YAML list of topic slugs.")
    return data


def extra_roots(content: list[Path] | tuple[Path, ...] = ()) -> list[Path]:
    """Instructor content folders: --content options, then NORMQUIZ_PATH entries."""
    env = [Path(p) for p in os.environ.get("NORMQUIZ_PATH", "").split(os.pathsep) if p]
    roots = [Path(p) for p in content] + env
    for r in roots:
        if not (r / "exercises" / "order.yaml").is_file():
            raise ContentError(
                f"Content folder {r} has no exercises/order.yaml; a content folder has the "
                "same layout as the shipped one (see docs/content-format.md)."
            )
    return roots


class Catalog:
    """All topics from the shipped content and any instructor folders, in order."""

    def __init__(self, content: list[Path] | tuple[Path, ...] = ()) -> None:
        self.roots = [builtin_root(), *extra_roots(content)]
        self._where: dict[str, Path] = {}
        for root in self.roots:
            for slug in _root_topics(root):
                if slug in self._where:
                    raise ContentError(
                        f"Topic '{slug}' is defined twice: in {self._where[slug]} and in {root}. "
                        "Rename one of them."
                    )
                self._where[slug] = root
        self._topics: dict[str, Topic] = {}

    @property
    def slugs(self) -> list[str]:
        return list(self._where)

    def root_of(self, slug: str) -> Path:
        return self._where[slug]

    def topic(self, slug: str) -> Topic:
        if slug not in self._where:
            raise ContentError(
                f"There is no topic '{slug}'.{did_you_mean(slug, self.slugs)} "
                f"Topics: {', '.join(self.slugs)}. Run 'normquiz list' to see them all."
            )
        if slug not in self._topics:
            self._topics[slug] = _load_topic(slug, self._where[slug])
        return self._topics[slug]

    def topics(self) -> list[Topic]:
        return [self.topic(s) for s in self.slugs]

    def find_exercise(self, exercise_id: str) -> tuple[Topic, Exercise]:
        """The topic and manifest of an exercise id, searched across all topics."""
        for topic in self.topics():
            for e in topic.exercises:
                if e.id == exercise_id:
                    return topic, e
        ids = [e.id for t in self.topics() for e in t.exercises]
        raise ContentError(
            f"There is no exercise '{exercise_id}'.{did_you_mean(exercise_id, ids)} "
            "Run 'normquiz list' to see them all."
        )


@functools.cache
def default_catalog() -> Catalog:
    return Catalog()


def catalog_for(content: Sequence[Path] = ()) -> Catalog:
    """The catalog `normquiz --content ...` uses (NORMQUIZ_PATH included)."""
    if content or os.environ.get("NORMQUIZ_PATH"):
        return Catalog(tuple(content))
    return default_catalog()


# ---------------------------------------------------------------- content modules


def import_file(path: Path, name: str) -> ModuleType:
    """Import a trusted content module (solution, mistakes, generators) from a file."""
    if not path.is_file():
        raise ContentError(f"{display_path(path)} does not exist.")
    key = f"normquiz_content_{name}_{abs(hash(str(path.resolve())))}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[key]
        raise ContentError(f"{display_path(path)} failed to import: {type(e).__name__}: {e}") from e
    return module


def load_reference(topic: str | Topic, catalog: Catalog | None = None) -> ModuleType:
    """The reference solution module of a topic."""
    t = topic if isinstance(topic, Topic) else (catalog or default_catalog()).topic(topic)
    return import_file(t.solution_path, f"{t.slug}_solution")


def load_mistakes(topic: Topic, exercise_id: str) -> ModuleType:
    """The mistake implementations (and PROBES) of one code exercise."""
    return import_file(topic.mistakes_path(exercise_id), f"{topic.slug}_{exercise_id}_mistakes")


def load_generators(topic: Topic) -> ModuleType:
    """The numeric question generators of a topic."""
    return import_file(topic.generators_path, f"{topic.slug}_generators")


def mistake_function_name(mistake_id: str) -> str:
    return mistake_id.replace("-", "_")
