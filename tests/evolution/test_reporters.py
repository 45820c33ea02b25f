from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

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


# -- the fitness plot ---------------------------------------------------------------------

PICTURE_MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-", ".svg": b"<?xml"}


def skewed_run(generations: int = 8) -> list[GenerationStats]:
    """Populations where one agent is far ahead of the rest, so that mean - std falls below
    the worst agent's fitness; the best fitness goes down as well as up."""
    out = []
    total = 0
    for g in range(generations):
        lead = [2.0, 5.0, 3.0, 6.5, 6.0, 9.0, 8.5, 9.5][g % 8]
        pop = [Candidate(f"a{i}", (0.1 * g,), 2 + i, specie_id=f"s{i % 2}",
                         fingerprint=f"f{(i + g) % 3}") for i in range(4)]  # fmt: skip
        pop.append(Candidate("lead", (lead,), 5, specie_id="s0", fingerprint="lead"))
        total += 50 + 10 * g  # generations of unequal cost: x is evaluations, not generations
        out.append(
            generation_stats(
                g,
                pop,
                evaluations=50 + 10 * g,
                total_evaluations=total,
                wall_seconds=1.0,
                elapsed_seconds=g + 1.0,
                validation_fitness=lead - 0.5 if g % 3 == 0 else None,
            )
        )
    return out


def artist(fig: Any, gid: str) -> Any:
    found = [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


def has_artist(fig: Any, gid: str) -> bool:
    return any(a.get_gid() == gid for ax in fig.axes for a in ax.get_children())


def test_plot_stats_lines_bands_goal_and_solved_star() -> None:
    pytest.importorskip("matplotlib")
    from actors.evolution.reporters import plot_stats

    run = skewed_run()
    assert any(s.fitness_avg - s.fitness_std < s.fitness_min for s in run)  # the case to fix
    fig = plot_stats(run, goal=9.0, solved_generation=7)
    x = [s.total_evaluations for s in run]
    best = [s.fitness_max for s in run]
    line = artist(fig, "line:best")
    assert list(line.get_xdata()) == x and list(line.get_ydata()) == best
    so_far = artist(fig, "line:best_so_far")
    assert list(so_far.get_xdata()) == x
    assert list(so_far.get_ydata()) == [max(best[: i + 1]) for i in range(len(best))]
    assert so_far.get_drawstyle() == "steps-post"
    assert list(artist(fig, "line:mean").get_ydata()) == [s.fitness_avg for s in run]
    goal = artist(fig, "line:goal")
    assert list(goal.get_ydata()) == [9.0, 9.0]
    lo, hi = goal.axes.get_ylim()
    assert lo < 9.0 < hi
    star = artist(fig, "line:solved")
    assert list(star.get_xdata()) == [run[7].total_evaluations]
    assert list(star.get_ydata()) == [run[7].fitness_max]
    val = artist(fig, "line:validation")
    assert list(val.get_xdata()) == [s.total_evaluations for s in run if s.validation_fitness]
    # both bands lie within [min, max] of the generation at every vertex
    by_x = {s.total_evaluations: s for s in run}
    for gid in ("band:range", "band:std"):
        band = artist(fig, gid)
        vertices = [v for p in band.get_paths() for v in p.vertices]
        assert vertices
        for vx, vy in vertices:
            s = by_x[round(vx)]
            assert s.fitness_min - 1e-12 <= vy <= s.fitness_max + 1e-12, (gid, vx, vy)
    ys = [v[1] for p in artist(fig, "band:range").get_paths() for v in p.vertices]
    assert min(ys) == min(s.fitness_min for s in run)
    assert max(ys) == max(s.fitness_max for s in run)
    ax_div = artist(fig, "line:diversity").axes
    assert list(artist(fig, "line:diversity").get_ydata()) == [s.diversity for s in run]
    assert list(artist(fig, "line:species").get_ydata()) == [s.species for s in run]
    assert list(artist(fig, "line:population").get_ydata()) == [s.population for s in run]
    assert ax_div.get_xlabel() == "evaluations"
    # legends: inside the figure, over no panel
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax.get_window_extent(renderer) for ax in fig.axes]
    for ax in fig.axes:
        lb = ax.get_legend().get_window_extent(renderer)
        assert lb.x0 >= 0 and lb.x1 <= fig.bbox.width and 0 <= lb.y0 <= lb.y1 <= fig.bbox.height
        for panel in panels:
            assert not lb.overlaps(panel)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "goal 9" in texts and "best so far" in texts
    assert any(t.startswith("solved: generation 7") for t in texts)


def test_plot_stats_without_goal_or_solution_draws_neither() -> None:
    pytest.importorskip("matplotlib")
    from actors.evolution.reporters import plot_stats

    fig = plot_stats(skewed_run(3))
    assert not has_artist(fig, "line:goal") and not has_artist(fig, "line:solved")
    with pytest.raises(ReporterError, match="generation 5 is not among"):
        plot_stats(skewed_run(3), solved_generation=5)
    with pytest.raises(ReporterError, match="no statistics"):
        plot_stats([])


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf", ".Svg"])
def test_plot_stats_writes_the_format_of_the_suffix(tmp_path: Path, suffix: str) -> None:
    pytest.importorskip("matplotlib")
    from actors.evolution.reporters import plot_stats

    path = tmp_path / f"run{suffix}"
    fig = plot_stats(skewed_run(3), path)
    assert fig is not None
    data = path.read_bytes()
    assert data.startswith(PICTURE_MAGIC[suffix.lower()])
    if suffix.lower() == ".svg":
        assert b"<svg" in data[:2000]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("name", ["run.gif", "run", "run.jpg"])
def test_unknown_picture_suffix_is_refused_before_drawing(tmp_path: Path, name: str) -> None:
    pytest.importorskip("matplotlib")
    from actors.evolution.reporters import plot_stats

    with pytest.raises(ReporterError) as exc:
        plot_stats(skewed_run(2), tmp_path / name)
    assert "\n" not in str(exc.value) and ".png, .svg, .pdf" in str(exc.value)
    with pytest.raises(ReporterError, match=r"\.png, \.svg, \.pdf"):
        PlotReporter(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_plot_reporter_draws_the_goal_and_the_solution(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "run.svg"
    rep = PlotReporter(path)
    rep.start_run(INFO)  # goal 0.99
    run = skewed_run(4)
    for s in run:
        rep.end_generation(s)
    rep.found_solution(run[3], "lead")
    rep.end_run(SUMMARY)
    assert path.read_bytes().startswith(b"<?xml")
    assert list(artist(rep.figure, "line:goal").get_ydata()) == [0.99, 0.99]
    assert list(artist(rep.figure, "line:solved").get_xdata()) == [run[3].total_evaluations]
    # a fresh run forgets the solution and takes the new goal
    rep.start_run(RunInfo("xor", 7, 3))
    rep.end_generation(run[0])
    rep.end_run(SUMMARY)
    assert not has_artist(rep.figure, "line:goal") and not has_artist(rep.figure, "line:solved")
