"""Small pieces of text that several reports share, spelled in one place."""

from __future__ import annotations


def points(n: float) -> str:
    """'1 point', '3 points', '0.5 points'."""
    return f"{n:g} point{'' if n == 1 else 's'}"


def next_steps(exercise_id: str) -> str:
    """The footer of an exercise's feedback: where to look next."""
    return f"Next: normquiz hint {exercise_id} · normquiz explain {exercise_id}"


class Places:
    """How feedback names the places a learner works in: a workspace's files.

    NotebookPlaces names a notebook's cells instead. Grading asks these for its
    words, so a result is right where it is made and never edited after.
    """

    def __init__(self, module: str | None = None) -> None:
        self.module = module  # the module's name as the learner sees it

    def rerun(self, exercise_id: str) -> str:
        """How the learner grades it again, after "then"."""
        return f"run normquiz grade {exercise_id}"

    def code_place(self) -> str:
        """Where a function is written (and made current), after "fill in ..."."""
        return f"in {self.module}"

    def answer_place(self, question_id: str) -> str:
        """How an answer is given, before ", then"."""
        return f"give your answer to '{question_id}' in answers.yaml"

    def fill_in(self, function: str, exercise_id: str) -> str:
        """What to do about a function that is still the stub."""
        return (f"Not implemented yet: fill in the # TODO lines of {function} "
                f"{self.code_place()}, then {self.rerun(exercise_id)}.")

    def answer(self, question_id: str) -> str:
        """What to do about a question not answered yet."""
        return (f"Not answered yet: {self.answer_place(question_id)}, "
                f"then {self.rerun(question_id)}.")

    def line(self, number: int) -> str:
        """Where line `number` of the graded module is, as the learner finds it."""
        return f"{self.module}, line {number}"


class NotebookPlaces(Places):
    """A notebook's cells; `origins[i]` is the (cell, line) of the module's line i + 1
    (None for a kernel, whose cells' numbers are not known)."""

    def __init__(self, name: str, origins: list[tuple[int, int]] | None = None) -> None:
        super().__init__(name)
        self.origins = origins

    def rerun(self, exercise_id: str) -> str:
        return f'normquiz.check("{exercise_id}")'

    def code_place(self) -> str:
        return "in its exercise cell, run that cell"

    def answer_place(self, question_id: str) -> str:
        return f"replace None with your answer in the answer cell of '{question_id}', run it"

    def line(self, number: int) -> str:
        if self.origins is not None and 1 <= number <= len(self.origins):
            cell, cell_line = self.origins[number - 1]
            return f"{self.module}, cell {cell}, line {cell_line}"
        return super().line(number)


class WatchedPlaces(Places):
    """A workspace under `normquiz watch`: saving the file grades it again."""

    def rerun(self, exercise_id: str) -> str:
        return "save: the watch grades it again"
