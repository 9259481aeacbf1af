"""Numeric and choice questions: generated from the workspace seed, graded from answers.yaml."""

from __future__ import annotations

import ast
import math
import re
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from normquiz.content import ChoiceQuestion, NumericQuestion, Topic, load_generators
from normquiz.report import CheckResult, ExerciseResult
from normquiz.text import Places, next_steps

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_SYMBOLS = {
    "mu": "μ", "sigma": "σ", "epsilon": "ε", "varepsilon": "ε", "gamma": "γ", "delta": "δ",
    "beta": "β", "alpha": "α", "odot": "⊙", "sum": "Σ", "cdot": "·", "sim": "~",
    "dots": "…", "ldots": "…", "times": "×", "approx": "≈", "neq": "≠", "leq": "≤",
    "geq": "≥", "infty": "∞", "in": "∈", "lVert": "‖", "rVert": "‖", "|": "‖",
    "tanh": "tanh", "left": "", "right": "", "top": "ᵀ",
    "ell": "ℓ", "partial": "∂", "nabla": "∇", "to": "→", "quad": "  ", "sqrt": "√",
}


def _group(s: str) -> str:
    return f"({s})" if re.search(r"[\s+\-]", s.strip()) else s.strip()


def plain_math(text: str) -> str:
    """Markdown math ($...$) as a terminal can show it: $\\hat{x}_j$ -> x̂_j."""

    def inline(m: re.Match) -> str:
        s = m.group(1)
        s = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}",
                   lambda f: f"{_group(f.group(1))}/{_group(f.group(2))}", s)
        s = re.sub(r"\\sqrt\{([^{}]*)\}", r"√(\1)", s)
        s = re.sub(r"\\hat\{?(\w)\}?", "\\1\u0302", s)
        s = re.sub(r"\\bar\{?(\w)\}?", "\\1\u0304", s)
        s = re.sub(r"\\[,;:! ]", " ", s)
        s = re.sub(r"\\(?:mathbb|mathrm|text|operatorname)\{([^{}]*)\}", r"\1", s)
        s = re.sub(r"\\([A-Za-z]+|\|)", lambda k: _SYMBOLS.get(k.group(1), k.group(1)), s)
        s = re.sub(r"([_^])\{([^{}]*)\}", script, s).replace("^2", "²").replace("^ᵀ", "ᵀ")
        return s.replace("{", "").replace("}", "")

    def script(m: re.Match) -> str:
        # A braced sub- or superscript keeps its extent once the braces go: h^{t-1}
        # becomes h^(t-1), not h^t-1; a single token (_{hh}, ^{(n)}) needs no parentheses.
        body = m.group(2).strip()
        if re.search(r"[\s+\-−=,]", body) and not re.fullmatch(r"\([^()]*\)", body):
            body = f"({body})"
        return m.group(1) + body

    return re.sub(r"\$([^$\n]+)\$", inline, text)


@dataclass(frozen=True)
class Generated:
    """One numeric question instance: its data, prompt, answer and mistaken answers."""

    data: dict[str, Any]
    prompt: str
    answer: list[float]
    mistakes: dict[str, list[float]]
    scalar: bool


def _numbers(value: Any) -> list[float]:
    return [float(v) for v in value] if isinstance(value, (list, tuple)) else [float(value)]


def format_value(value: Any) -> str:
    """Data as it appears in a prompt: integers stay integers, matrices one row a line."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(r, (list, tuple)) for r in value):
            width = max(len(format_value(x)) for r in value for x in r)
            rows = ["[" + ", ".join(format_value(x).rjust(width) for x in r) + "]" for r in value]
            return "[" + ",\n ".join(rows) + "]"
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def fill_prompt(prompt: str, data: dict[str, Any]) -> str:
    def replace(m: re.Match) -> str:
        value = format_value(data[m.group(1)])
        if "\n" in value:
            # A matrix goes on its own lines, indented like a code block.
            return "\n\n    " + value.replace("\n", "\n    ") + "\n\n"
        return value

    return _PLACEHOLDER.sub(replace, prompt)


def question_seed(seed: int, question_id: str) -> list[int]:
    # crc32, not hash(): the same seed must give the same question in every process.
    return [seed, zlib.crc32(question_id.encode())]


def generate(topic: Topic, question: NumericQuestion, seed: int) -> Generated:
    """The workspace's instance of a numeric question, reproducible from the seed."""
    import numpy as np

    generator = getattr(load_generators(topic), question.generator)
    out = generator(np.random.default_rng(question_seed(seed, question.id)))
    answer = out["answer"]
    return Generated(
        data=out["data"],
        prompt=fill_prompt(question.prompt, out["data"]),
        answer=_numbers(answer),
        mistakes={k: _numbers(v) for k, v in out.get("mistakes", {}).items()},
        scalar=not isinstance(answer, (list, tuple)),
    )


def demonstrate(topic: Topic, exercise: Any) -> str:
    """The live demonstration named by an exercise's `demonstration` field."""
    return str(getattr(load_generators(topic), exercise.demonstration)(exercise.id))


def prompt_for(topic: Topic, question: Any, seed: int, plain: bool = False) -> str:
    """The question's prompt as this workspace shows it (data filled in, options listed).

    `plain` turns $math$ into text for terminals and YAML comments.
    """
    if isinstance(question, NumericQuestion):
        text = generate(topic, question, seed).prompt.rstrip()
    elif isinstance(question, ChoiceQuestion):
        letters = zip(question.letters, question.options)
        # A Markdown list where the prompt is Markdown (a notebook, README.md), else indented.
        options = "\n".join(f"{'  ' if plain else '- '}{ch}) {o.text}" for ch, o in letters)
        text = f"{question.prompt.rstrip()}\n\n{options}"
    else:
        text = question.prompt.rstrip()
    return plain_math(text) if plain else text


def answer_help(question: Any) -> str:
    """What kind of value answers.yaml expects, e.g. 'a list [mu, sigma]'."""
    if isinstance(question, NumericQuestion):
        fmt = question.answer_format
        return f"a list {fmt}" if fmt.startswith("[") else f"a number ({fmt})"
    return "one letter: " + ", ".join(question.letters)


def check_answer_type(question: Any, value: Any, generated: Generated | None) -> str | None:
    """Why `value` is not a valid answer to `question`, or None when it is valid."""
    if value is None:
        return None
    if isinstance(question, ChoiceQuestion):
        if isinstance(value, str) and value.strip().lower().rstrip(")") in question.letters:
            return None
        return f"expected one letter ({', '.join(question.letters)}), got {value!r}"
    assert generated is not None
    n = len(generated.answer)

    def is_number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    if generated.scalar:
        single = isinstance(value, list) and len(value) == 1 and is_number(value[0])
        if is_number(value) or single:
            return None
        return f"expected a number ({question.answer_format}), got {value!r}"
    if isinstance(value, list) and len(value) == n and all(is_number(v) for v in value):
        return None
    return f"expected a list of {n} numbers {question.answer_format}, got {value!r}"


# What an answer cell may hold: what a learner types for a number or a list of numbers.
_ANSWER_CALLS = {"float": float, "int": int, "np.float64": float, "numpy.float64": float,
                 "np.array": None, "numpy.array": None}
_MAX_ELEMENTS = 1000  # numbers in one answer
_MAX_DEPTH = 20  # nested parentheses, lists and calls
_MAX_BITS = 4096  # an integer beyond 2**4096 is not an answer (nor a float beyond 1e308)


class AnswerExpressionError(ValueError):
    """Why an answer cell's expression is not accepted; args[0] says so in a phrase."""


def _call_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def answer_expression(node: ast.expr) -> Any:
    """The value of an answer cell's expression, computed without running any code.

    Accepted: number, string, None and True/False literals; + - * / // % ** and unary
    minus on numbers; lists and tuples of those (a list); float(x), int(x),
    np.float64(x) and np.array([...]) of those. Results are bounded: at most
    1000 numbers, integers below 2**4096, finite floats. Anything else (a name,
    another call, an attribute, a comprehension) raises AnswerExpressionError.
    """
    count = [0]

    def number(value: Any) -> Any:
        if isinstance(value, list):
            raise AnswerExpressionError("arithmetic works on numbers, not on lists: write "
                                        "each number of the list")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AnswerExpressionError(f"{value!r} is not a number, so it cannot be computed with")
        return value

    def bounded(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) \
                and value.bit_length() > _MAX_BITS:
            raise AnswerExpressionError("a number that large is not an answer")
        if isinstance(value, float) and not math.isfinite(value):
            raise AnswerExpressionError("the value is not a finite number")
        return value

    def power(base: Any, exponent: Any) -> Any:
        if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
            if base not in (-1, 0, 1) and exponent * max(base.bit_length(), 1) > _MAX_BITS:
                raise AnswerExpressionError("a number that large is not an answer")
            return base ** exponent
        try:
            result = float(base) ** float(exponent)
        except (OverflowError, ZeroDivisionError):
            raise AnswerExpressionError("a number that large is not an answer") from None
        if isinstance(result, complex):
            raise AnswerExpressionError("a negative number to a fractional power is not real")
        return result

    operators = {
        ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
        ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
        ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b, ast.Pow: power,
    }

    def walk(node: ast.expr, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise AnswerExpressionError("the expression is nested too deeply")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bool, int, float, str)) or node.value is None:
                count[0] += 1
                return bounded(node.value)
            raise AnswerExpressionError(f"{node.value!r} is not a number or a letter")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = number(walk(node.operand, depth + 1))
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in operators:
            a, b = number(walk(node.left, depth + 1)), number(walk(node.right, depth + 1))
            try:
                return bounded(operators[type(node.op)](a, b))
            except ZeroDivisionError:
                raise AnswerExpressionError("it divides by zero") from None
            except OverflowError:
                raise AnswerExpressionError("a number that large is not an answer") from None
        if isinstance(node, (ast.List, ast.Tuple)):
            if len(node.elts) > _MAX_ELEMENTS:
                raise AnswerExpressionError(f"a list of more than {_MAX_ELEMENTS} numbers "
                                            "is not an answer")
            items = [walk(e, depth + 1) for e in node.elts]
            if count[0] > _MAX_ELEMENTS:
                raise AnswerExpressionError(f"more than {_MAX_ELEMENTS} numbers is not an answer")
            return items
        if isinstance(node, ast.Call):
            name = _call_name(node.func)
            if name not in _ANSWER_CALLS or node.keywords or len(node.args) != 1 \
                    or isinstance(node.args[0], ast.Starred):
                shown = f"{name}(...)" if name else "a call"
                raise AnswerExpressionError(
                    f"it calls {shown}; only float(x), int(x), np.float64(x) and "
                    "np.array([...]) of numbers are read")
            value = walk(node.args[0], depth + 1)
            convert = _ANSWER_CALLS[name]
            if convert is None:  # np.array: a number or a list of numbers, kept as it is
                if isinstance(value, list) and all(isinstance(v, list) for v in value) \
                        and value:
                    raise AnswerExpressionError("an array of more than one dimension is not "
                                                "an answer here")
                for v in value if isinstance(value, list) else [value]:
                    number(v)
                return value
            try:
                return bounded(convert(number(value)))
            except OverflowError:
                raise AnswerExpressionError("a number that large is not an answer") from None
        if isinstance(node, ast.Name):
            raise AnswerExpressionError(f"it uses the name {node.id!r}, which the answer cell "
                                        "cannot look up: write the number itself")
        raise AnswerExpressionError(f"{type(node).__name__.lower()} expressions are not read")

    return walk(node, 0)


def plain_answer(value: Any) -> Any:
    """A kernel's answer as an answer cell reads it: numpy numbers and 0-d or 1-d arrays
    become Python numbers and lists, tuples become lists (anything else is kept, and
    then judged by check_answer_type)."""
    import numpy as np

    if isinstance(value, np.ndarray) and value.ndim <= 1 and value.size <= _MAX_ELEMENTS \
            and value.dtype.kind in "biuf":
        return value.tolist()
    def number(v: Any) -> Any:
        return v.item() if isinstance(v, np.generic) and v.dtype.kind in "biuf" else v

    if isinstance(value, (list, tuple)) and len(value) <= _MAX_ELEMENTS:
        return [number(v) for v in value]  # one level: a list holding itself stays a list
    return number(value)


def separated(answers: list[Any], tolerance: float = 1e-3, factor: float = 10.0) -> bool:
    """Whether every pair of answers (numbers or lists) differs by more than
    `factor` x `tolerance` somewhere: generators redraw their data until it is,
    so that a mistaken answer can never pass for the right one or for another."""
    import numpy as np

    vectors = [np.atleast_1d(np.asarray(a, dtype=float)).ravel().tolist() for a in answers]
    return all(len(u) != len(v) or max(abs(x - y) for x, y in zip(u, v)) > factor * tolerance
               for i, u in enumerate(vectors) for v in vectors[i + 1:])


def wrong_in_every_part(answer: list[Any], mistakes: dict[str, list[Any]],
                        shared: dict[str, Collection[int]] | None = None,
                        tolerance: float = 1e-3, factor: float = 10.0) -> bool:
    """Whether every mistaken list answer is more than `factor` x `tolerance` away from
    the right one in every part, so that a wrong method never earns a part by chance
    (a list answer is graded part by part). `shared` names, per mistake, the parts it
    computes the right way by design (the mean of a [mu, sigma] answer whose mistake
    is in sigma)."""
    shared = shared or {}
    return all(abs(float(m) - float(a)) > factor * tolerance
               for name, values in mistakes.items()
               for i, (m, a) in enumerate(zip(values, answer)) if i not in shared.get(name, ()))


def _close(a: list[float], b: list[float], tol: float) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def grade_numeric(question: NumericQuestion, generated: Generated, value: Any,
                  places: Places | None = None) -> ExerciseResult:
    result = ExerciseResult(question.id, "numeric", question.title, "unanswered", 0.0,
                            question.points)
    if value is None:
        result.feedback = (places or Places()).answer(question.id)
        return result
    got = _numbers(value)
    tol = question.tolerance
    parts = [abs(g - e) <= tol for g, e in zip(got, generated.answer)]
    result.checks = [CheckResult(f"part {i + 1}", 1.0, ok) for i, ok in enumerate(parts)]
    result.score = question.points * sum(parts) / len(parts)
    if all(parts):
        result.status = "passed"
        return result
    result.status = "failed"
    result.mistakes = [m for m, v in generated.mistakes.items() if _close(got, v, tol)]
    shown = format_value(got[0] if generated.scalar else got)
    lines = [f"Your answer {shown} is not right (tolerance ±{tol:g})."]
    if len(parts) > 1:
        names = [n.strip() for n in question.answer_format.strip("[] ").split(",")]
        if len(names) != len(parts):
            names = [f"part {i + 1}" for i in range(len(parts))]
        wrong = [n for n, ok in zip(names, parts) if not ok]
        right = [n for n, ok in zip(names, parts) if ok]
        lines[0] += (f" {' and '.join(wrong)} {'are' if len(wrong) > 1 else 'is'} off"
                     + (f"; {' and '.join(right)} {'are' if len(right) > 1 else 'is'} right."
                        if right else "."))
    for m in result.mistakes:
        mistake = question.mistake(m)
        lines += ["", f"Diagnosis: {mistake.title} [{m}]", plain_math(mistake.feedback.strip())]
    lines += ["", next_steps(question.id)]
    result.feedback = "\n".join(lines)
    return result


def grade_choice(question: ChoiceQuestion, value: Any,
                 places: Places | None = None) -> ExerciseResult:
    result = ExerciseResult(question.id, "choice", question.title, "unanswered", 0.0,
                            question.points)
    if value is None:
        result.feedback = (places or Places()).answer(question.id)
        return result
    letter = value.strip().lower().rstrip(")")
    option = question.options[question.letters.index(letter)]
    result.checks = [CheckResult("answer", 1.0, option.correct)]
    if option.correct:
        result.status, result.score = "passed", question.points
        result.feedback = plain_math(option.feedback.strip())
        return result
    result.status = "failed"
    lines = [f"({letter}) is not the answer. {plain_math(option.feedback.strip())}"]
    if option.mistake:
        result.mistakes = [option.mistake]
        lines.insert(0, f"Misconception: {option.mistake}")
    lines += ["", next_steps(question.id)]
    result.feedback = "\n".join(lines)
    return result
