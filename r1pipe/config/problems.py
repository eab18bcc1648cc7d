"""What is wrong with a config, in one shape: the key, what is wrong, and how to fix it.

Every check reports these (schema declarations, validation, data files, benchmark suites, the
plan), and the CLI prints them together with exit code 2. A leaf module: anything may import it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the config: the key, what is wrong, and how to fix it."""

    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}\n    fix: {self.fix}"


class ConfigError(Exception):
    """Every problem found in a config, reported at once."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        lines = [f"{len(problems)} config problem(s):"] + [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))
