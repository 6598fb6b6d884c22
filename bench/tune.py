"""gunicorn settings tried against the same benchmark, to choose gunicorn.conf.py by measurement.

    .venv/bin/python -m bench.tune [--rounds 2] [--duration 5] [--output bench/results/tuning.md]

Each configuration is a set of environment variables that gunicorn.conf.py (WEB_CONCURRENCY,
GUNICORN_THREADS) or gunicorn itself (GUNICORN_CMD_ARGS) reads. The configurations run in
turn, round after round, so that noise from other processes spreads over all of them; every
round's figures are kept. It takes about a minute per configuration and round.
"""

import argparse
import sys
from pathlib import Path

from bench.run import REPO, benchmark, log, markdown_table, parse_options, stop_on_sigterm

CONFIGURATIONS = {
    "sync, 2 workers": {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "1"},
    "sync, 3 workers": {"WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "1"},
    "sync, 4 workers": {"WEB_CONCURRENCY": "4", "GUNICORN_THREADS": "1"},
    "sync, 2 workers, preload": {
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "GUNICORN_CMD_ARGS": "--preload",
    },
    "sync, 3 workers, preload": {
        "WEB_CONCURRENCY": "3",
        "GUNICORN_THREADS": "1",
        "GUNICORN_CMD_ARGS": "--preload",
    },
    "gthread, 2 workers x 2 threads": {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2"},
    "gthread, 2 workers x 4 threads": {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4"},
    "gthread, 2 workers x 8 threads": {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "8"},
    "gthread, 3 workers x 4 threads": {"WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "4"},
}


def summary_row(name: str, round_number: int, report) -> list[str]:
    by_path = {page.path: page for page in report.pages if page.wrk}
    static = report.pages[0]
    longest = next(page for page in report.pages if page.content_page and page.path != "/")

    def rate(page):
        return f"{page.wrk.requests_per_second:,.0f}" if page and page.wrk else "-"

    form = report.forms[0] if report.forms else None
    form_text = "-"
    if form and form.result:
        form_text = f"{form.result.per_second:.0f}"
        if form.result.error_count:
            form_text += f" ({form.result.error_count} errors)"
    rss = [mb for sizes in report.rss.values() for mb in sizes.values()]
    pss = [mb for sizes in report.pss.values() for mb in sizes.values()]
    rest = [page.cpu.rest_share for page in report.pages if page.cpu]
    return [
        name,
        str(round_number),
        rate(static),
        rate(by_path.get("/")),
        f"{rate(longest)} ({longest.ratio:.0%}, p99 {longest.wrk.p99_ms:.0f} ms)"
        if longest.wrk
        else "-",
        rate(by_path.get("/sources/")),
        rate(by_path.get("/contact/")),
        form_text,
        f"{max(rss):.0f} / {sum(pss):.0f} MB" if rss else "-",
        f"{max(rest):.0%}" if rest else "-",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--output", default="bench/results/tuning.md")
    parser.add_argument("--only", action="append", help="run only this configuration (repeatable)")
    parser.add_argument("--quiet-timeout", default="120", help="see bench/run.py")
    options = parser.parse_args(argv)
    stop_on_sigterm()
    chosen = {
        name: env
        for name, env in CONFIGURATIONS.items()
        if not options.only or name in options.only
    }
    run_options = parse_options(
        [
            *("--duration", str(options.duration), "--warmup", "1"),
            *("--quiet-timeout", options.quiet_timeout),
            "--skip-nginx",  # gunicorn settings do not change what nginx serves from its copy
        ]
    )
    rows = []
    for round_number in range(1, options.rounds + 1):
        for name, env in chosen.items():
            log(f"round {round_number}: {name}")
            try:
                rows.append(summary_row(name, round_number, benchmark(run_options, env)))
            except Exception as error:  # one broken run should not lose the others
                rows.append([name, str(round_number), f"failed: {error}", *["-"] * 7])
    rows.sort(key=lambda row: (list(chosen).index(row[0]), row[1]))
    table = markdown_table(
        [
            "gunicorn",
            "round",
            "static CSS req/s",
            "home req/s",
            "longest page req/s (vs static, p99)",
            "/sources/ req/s",
            "/contact/ GET req/s",
            "form accepted/s",
            "largest worker RSS / all workers' PSS",
            "most CPU used by the rest",
        ],
        rows,
    )
    print(table)
    output = REPO / options.output
    output.parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(table + "\n")
    log(f"written to {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
