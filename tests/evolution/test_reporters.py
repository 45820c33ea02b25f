from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from rich.console import Console

from actors.evolution.candidate import Candidate
from actors.evolution.errors import ReporterError
from actors.evolution.reporters import (
    ConsoleReporter,
    JsonlStatsReporter,
    PlotReporter,
    Reporter,
    ReporterSet,
    read_stats,
)
from actors.evolution.stats import GenerationStats, RunInfo, RunSummary, generation_stats

INFO = RunInfo("xor", seed=7, population_size=3, max_evaluations=1000, fitness_goal=0.99)
SUMMARY = RunSummary(True, 240, 3, 0.995, "b", 1.25, reason="fitness goal")


def stats(gen: int, best: float = 3.0) -> GenerationStats:
    pop = [
        Candidate("a", (1.0,), 2, specie_id="s1", fingerprint="x"),
        Candidate("b", (best,), 4, specie_id="s2", fingerprint="y"),
    ]
    return generation_stats(
        gen,
        pop,
        evaluations=80,
        total_evaluations=80 * (gen + 1),
        wall_seconds=0.5,
        elapsed_seconds=0.5 * (gen + 1),
    )


class Recorder(Reporter):
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def start_run(self, info: RunInfo) -> None:
        self.log.append(f"{self.name}:start")

    def end_generation(self, stats: GenerationStats, species=()) -> None:  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name}:gen{stats.generation}")

    def end_run(self, summary: RunSummary) -> None:
        self.log.append(f"{self.name}:end")


def test_reporter_set_fans_out_in_order() -> None:
    log: list[str] = []
    rs = ReporterSet([Recorder("a", log)])
    rs.add(Recorder("b", log))
    rs.add(Reporter())  # the base class ignores everything
    rs.start_run(INFO)
    rs.start_generation(0)
    rs.end_generation(stats(0))
    rs.found_solution(stats(0), "b")
    rs.info("hello")
    rs.end_run(SUMMARY)
    assert log == ["a:start", "b:start", "a:gen0", "b:gen0", "a:end", "b:end"]
    assert len(rs) == 3


def console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=False, width=200, color_system=None), buf


def test_console_lines_when_not_a_terminal() -> None:
    con, buf = console()
    rep = ConsoleReporter(con)
    assert not rep.live
    rep.start_run(INFO)
    rep.end_generation(stats(0))
    rep.end_generation(stats(1, best=4.5))
    rep.found_solution(stats(1), "b")
    rep.end_run(SUMMARY)
    out = buf.getvalue()
    assert "evolving xor: seed 7, population 3, max 1000 evaluations, goal 0.99" in out
    assert "gen 1  evals 160  best 4.5" in out and "species 2" in out
    assert "160.0 evals/s" in out
    assert "solved by b in generation 1" in out
    assert "solved (fitness goal): 240 evaluations, 3 generations" in out


def test_console_live_display() -> None:
    buf = io.StringIO()
    con = Console(file=buf, force_terminal=True, width=160, color_system=None)
    rep = ConsoleReporter(con)
    assert rep.live
    rep.start_run(INFO)
    rep.end_generation(stats(2, best=7.25))
    rep.info("validated champion b: 0.97")
    rep.end_run(SUMMARY)
    out = buf.getvalue()
    assert "gen 2" in out and "240 evals" in out and "best 7.25" in out
    assert "species 2" in out and "160.0 evals/s" in out
    assert "validated champion b" in out


def test_console_quiet_prints_nothing() -> None:
    con, buf = console()
    rep = ConsoleReporter(con, quiet=True)
    rep.start_run(INFO)
    rep.end_generation(stats(0))
    rep.info("x")
    rep.end_run(SUMMARY)
    assert buf.getvalue() == ""


def test_details_only_when_verbose_in_lines_and_in_the_live_display() -> None:
    for terminal in (False, True):
        for verbose in (False, True):
            buf = io.StringIO()
            con = Console(file=buf, force_terminal=terminal, width=120, color_system=None)
            rep = ConsoleReporter(con, verbose=verbose)
            assert rep.live is terminal
            rep.start_run(INFO)
            rep.end_generation(stats(0))
            rep.detail("a7: success test failed (balanced_steps 1234)")
            rep.info("adopted b from outside the run")
            rep.end_generation(stats(1))
            rep.end_run(SUMMARY)
            out = buf.getvalue()
            assert ("success test failed" in out) is verbose, (terminal, verbose)
            assert "adopted b from outside the run" in out
            assert "solved (fitness goal)" in out
    quiet, buf = console()
    got: list[str] = []

    class Details(Reporter):
        def detail(self, message: str) -> None:
            got.append(message)

    rs = ReporterSet([ConsoleReporter(quiet, quiet=True, verbose=True), Details(), Reporter()])
    rs.detail("fans out")
    assert got == ["fans out"] and buf.getvalue() == ""  # quiet wins over verbose


def test_piped_lines_are_not_wrapped_at_the_console_width() -> None:
    buf = io.StringIO()
    con = Console(file=buf, force_terminal=False, width=40, color_system=None)  # a pipe
    rep = ConsoleReporter(con, verbose=True)
    rep.start_run(INFO)
    rep.end_generation(stats(12, best=0.123456789))
    rep.detail("g-0123456789abcdef: success test failed (balanced_steps 99999, generalization 3)")
    rep.end_run(SUMMARY)
    lines = buf.getvalue().splitlines()
    gen = [x for x in lines if x.startswith("gen 12")]
    assert len(gen) == 1 and gen[0].endswith("evals/s") and len(gen[0]) > 40
    assert any(x.endswith("generalization 3)") and len(x) > 40 for x in lines)
    assert lines[-1].startswith("solved (fitness goal)") and lines[-1].endswith(" s")
    assert len(lines) == 4  # header, one generation, the detail, the summary


def test_markup_in_messages_is_printed_as_is() -> None:
    con, buf = console()
    rep = ConsoleReporter(con)
    rep.info("[bold]agent[/bold] [1, 2]")
    assert "[bold]agent[/bold] [1, 2]" in buf.getvalue()


def test_summary_goes_to_stdout_and_progress_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    rep = ConsoleReporter()  # default consoles: neither is a terminal under capture
    assert not rep.live
    rep.start_run(INFO)
    rep.end_generation(stats(0))
    rep.found_solution(stats(0), "b")
    rep.end_run(SUMMARY)
    captured = capsys.readouterr()
    assert captured.out.startswith("solved (fitness goal): 240 evaluations")
    assert captured.out.count("\n") == 1
    assert "evolving xor" in captured.err and "gen 0" in captured.err
    assert "solved by b" in captured.err and "240 evaluations" not in captured.err
    summary_buf = io.StringIO()
    progress, progress_buf = console()
    rep = ConsoleReporter(progress, summary=Console(file=summary_buf, color_system=None))
    rep.start_run(INFO)
    rep.end_run(SUMMARY)
    progress_text = progress_buf.getvalue()
    assert "evolving xor" in progress_text and "240 evaluations" not in progress_text
    assert summary_buf.getvalue().startswith("solved (fitness goal)")


def test_jsonl_reporter_writes_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "stats.jsonl"
    rep = JsonlStatsReporter(path)
    rep.start_run(INFO)
    for g in range(4):
        rep.end_generation(stats(g))
    # a killed run: the file is complete up to the last generation, without end_run
    lines = path.read_text().splitlines()
    assert [json.loads(x)["generation"] for x in lines] == [0, 1, 2, 3]
    assert read_stats(path) == [stats(g) for g in range(4)]
    # resume after generation 1: later lines are dropped, new ones appended
    rep2 = JsonlStatsReporter(path)
    rep2.start_run(RunInfo("xor", 7, 3, resumed_from_generation=1, max_generations=9))
    rep2.end_generation(stats(2, best=9.0))
    rep2.end_run(SUMMARY)
    got = read_stats(path)
    assert [s.generation for s in got] == [0, 1, 2] and got[-1].fitness_max == 9.0
    # a fresh run truncates
    rep3 = JsonlStatsReporter(path)
    rep3.start_run(INFO)
    rep3.end_run(SUMMARY)
    assert read_stats(path) == []


def test_read_stats_tolerates_a_torn_last_line_only(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    good = json.dumps(stats(0).to_dict())
    path.write_text(good + "\n" + good[: len(good) // 2])
    assert len(read_stats(path)) == 1
    path.write_text(good[:10] + "\n" + good + "\n")
    with pytest.raises(ReporterError, match=":1:"):
        read_stats(path)
    path.write_text("[1, 2]\n")
    with pytest.raises(ReporterError, match="not an object"):
        read_stats(path)
    with pytest.raises(ReporterError):
        JsonlStatsReporter(path).end_generation(stats(0))


def test_plot_reporter_writes_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # the optional extra 'plot'
    path = tmp_path / "plots" / "run.png"
    rep = PlotReporter(path, every=2)
    rep.start_run(INFO)
    rep.end_generation(stats(0))
    assert not path.exists()
    rep.end_generation(stats(1))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    path.unlink()
    rep.end_generation(stats(2, best=5.0))
    rep.end_run(SUMMARY)
    assert path.stat().st_size > 1000
    assert [s.generation for s in rep.history] == [0, 1, 2]


def test_plot_reporter_without_matplotlib(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for mod in list(sys.modules):
        if mod == "matplotlib" or mod.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ReporterError, match=r"megabrain\[plot\]"):
        PlotReporter(tmp_path / "x.png")
