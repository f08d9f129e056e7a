"""The ``harness`` command: one short function per command; the work is in the library."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from harness.errors import ConfigurationError, HarnessError
from harness.targets.registry import available_targets

DEFAULT_ENV_FILE = ".harness/env"


# Set by the console script: a run leaves a large heap (every account's moto backends, clients,
# traces) whose teardown at interpreter exit took ~6 s of `make demo`; its targets are stopped and
# its reports written by then, so the process ends at once. In-process callers (CliRunner) keep sys.exit.
_HARD_EXIT = False


def _exit(code: int) -> NoReturn:
    if _HARD_EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


def entry() -> None:
    """The ``harness`` console script."""
    global _HARD_EXIT
    _HARD_EXIT = True
    main()


@click.group()
@click.version_option(package_name="serverless-harness")
def main() -> None:
    """Run serverless AWS apps locally, end to end, on moto, LocalStack or AWS."""


@main.command()
@click.option("--target", type=click.Choice(available_targets()), default="moto", show_default=True)
@click.option("--env-file", type=click.Path(path_type=Path), default=DEFAULT_ENV_FILE, show_default=True)
@click.option("--no-deploy", is_flag=True, help="Start the target only; by default the app of "
              "[tool.harness] in ./pyproject.toml is deployed and its outputs written as HARNESS_OUTPUT_<Name>.")
@click.option("--timeout", type=float, default=180.0, show_default=True, help="Seconds to wait for ready.")
def up(target: str, env_file: Path, no_deploy: bool, timeout: float) -> None:
    """Start the target, Lambda runtime and event pollers in the background; write ENV_FILE."""
    from harness.background import start_background

    if env_file.exists():
        raise click.UsageError(f"{env_file} exists: is the harness already up? Run "
                               f"`harness down --env-file {env_file}` first, or remove the file.")
    try:
        started = start_background(target, env_file, deploy=not no_deploy, timeout=timeout)
    except HarnessError as exc:
        raise click.ClickException(str(exc)) from exc
    values = started.values
    click.echo(f"harness up: {target} at {values.get('AWS_ENDPOINT_URL', 'AWS')}, account "
               f"{values['HARNESS_ACCOUNT_ID']} (pid {started.pid})")
    for name, value in values.items():
        if name.startswith("HARNESS_API_URL_"):
            click.echo(f"API {name.removeprefix('HARNESS_API_URL_')}: {value}")
    if "HARNESS_STACK_NAME" in values:
        click.echo(f"stack {values['HARNESS_STACK_NAME']}")
    click.echo(f"use it with: set -a; . {env_file}; set +a")


@main.command()
@click.option("--env-file", type=click.Path(path_type=Path), default=DEFAULT_ENV_FILE, show_default=True)
@click.option("--timeout", type=float, default=20.0, show_default=True)
def down(env_file: Path, timeout: float) -> None:
    """Stop everything `harness up` started for ENV_FILE, and remove the file."""
    from harness.background import stop_background

    try:
        click.echo(f"harness down: {stop_background(env_file, timeout=timeout)}")
    except HarnessError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check scenario files without running them (exit 2 on the first invalid file)."""
    from harness.scenarios import ScenarioError, load_scenario, scenario_files

    try:
        files = scenario_files(paths or (Path("scenarios"),))
        for file in files:
            load_scenario(file)
    except ScenarioError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{len(files)} scenario file(s) valid")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--target", type=click.Choice(available_targets()), default="moto", show_default=True)
@click.option("--report-dir", type=click.Path(path_type=Path), default=None, help="Write report.json, junit.xml, report.html here.")
@click.option("-k", "keyword", default=None, help="Only scenarios whose name or file contains this.")
@click.option("--tag", "tags", multiple=True, help="Only scenarios with this tag (repeatable).")
@click.option("-n", "workers", type=int, default=2, show_default=True, help="Scenarios run in parallel.")
@click.option("--keep", is_flag=True, default=None,
              help="Keep the stack the scenarios share after the run and reuse a kept one (aws).")
def run(paths: tuple[Path, ...], target: str, report_dir: Path | None, keyword: str | None,
        tags: tuple[str, ...], workers: int, keep: bool | None) -> None:
    """Run scenario files; exit 0 when all pass, 1 when any fails, 2 on a usage or file error."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from harness.project import project_settings
    from harness.scenarios import ScenarioError, load_scenario, scenario_files
    from harness.scenarios.suite import run_suite, select, write_reports
    from harness.settings import HarnessSettings

    console = Console()
    try:
        scenarios = [load_scenario(f) for f in scenario_files(paths or (Path("scenarios"),))]
    except ScenarioError as exc:
        click.echo(f"error: {exc}", err=True)  # unwrapped, on stderr: file:line:column stays one token
        sys.exit(2)
    chosen = select(scenarios, keyword=keyword, tags=tags)
    if not chosen:
        console.print("no scenario selected")
        sys.exit(2)
    settings = HarnessSettings.resolve(explicit={"target": target, "keep": keep}, environ=os.environ,
                                       ini=project_settings(Path.cwd()))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"{len(chosen)} scenario(s) on {target}", total=len(chosen))
        try:
            results, report = run_suite(chosen, settings, workers=workers,
                                        on_done=lambda r: progress.advance(task))
        except ConfigurationError as exc:  # a refused target (the AWS preflight) or bad settings: exit 2
            progress.stop()
            from harness.aws_cli import error_line

            click.echo(error_line(exc), err=True)
            sys.exit(2)
    table = Table(title=f"scenarios on {target}")
    for column in ("scenario", "status", "time", "reason"):
        table.add_column(column)
    colours = {"passed": "green", "failed": "red", "skipped": "yellow"}
    for result in results:
        table.add_row(result.name, f"[{colours[result.status]}]{result.status}[/]", f"{result.duration_s:.1f} s",
                      result.reason[:100])
    console.print(table)
    summary = report["summary"]
    console.print(f"{summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped "  # type: ignore[index]
                  f"in {report['duration_s']} s", highlight=False)
    for note in report.get("notes") or ():  # type: ignore[attr-defined]
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if report_dir is not None:
        for path in write_reports(results, report, report_dir):
            console.print(f"report: {path}", highlight=False)
    _exit(1 if any(r.status == "failed" for r in results) else 0)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--targets", default="moto,localstack", show_default=True, help="The two targets to compare.")
@click.option("--report-dir", type=click.Path(path_type=Path), default=None,
              help="Write parity.json and report.html here, and each target's reports under <target>/.")
@click.option("--known", "known_file", type=click.Path(path_type=Path), default=None,
              help="Known differences (YAML list of {difference, reason, scenario?, targets?}); "
                   "default: parity.yaml beside the first scenario path.")
@click.option("-k", "keyword", default=None, help="Only scenarios whose name or file contains this.")
@click.option("-n", "workers", type=int, default=2, show_default=True, help="Scenarios run in parallel.")
@click.option("--together/--one-after-the-other", default=True, show_default=True,
              help="Run both targets at once (the slower one's waits overlap the other's work), or one "
                   "after the other (a small machine, or timing-sensitive scenarios).")
def parity(paths: tuple[Path, ...], targets: str, report_dir: Path | None, known_file: Path | None,
           keyword: str | None, workers: int, together: bool) -> None:
    """Run scenarios on two targets and compare them; exit 1 on a failed scenario or an unexplained difference."""
    from harness.parity import load_known, run_parity
    from harness.project import project_settings
    from harness.report.html import render_parity
    from harness.scenarios import ScenarioError, load_scenario, scenario_files
    from harness.scenarios.suite import select, write_reports
    from harness.settings import HarnessSettings

    names = [t.strip() for t in targets.split(",") if t.strip()]
    if len(set(names)) != 2 or len(names) != 2 or any(n not in available_targets() for n in names):
        raise click.UsageError(f"--targets names two different targets of {', '.join(available_targets())}, "
                               f"got {targets!r}")
    roots = paths or (Path("scenarios"),)
    try:
        chosen = select([load_scenario(f) for f in scenario_files(roots)], keyword=keyword, tags=())
        known = load_known(known_file or (roots[0] if roots[0].is_dir() else roots[0].parent) / "parity.yaml")
    except (ScenarioError, ConfigurationError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if not chosen:
        click.echo("no scenario selected", err=True)
        sys.exit(2)
    settings = [HarnessSettings.resolve(explicit={"target": n}, environ=os.environ, ini=project_settings(Path.cwd()))
                for n in names]
    result, runs = run_parity(chosen, settings, workers=workers, known=known, together=together,
                              on_done=lambda t, r: click.echo(f"{t}: {r.name}: {r.status}"))
    # the known in one line each, then the unexplained in full: last, where a CI log's tail shows them
    differences = sorted(result["differences"], key=lambda d: d["known"] is None)
    for difference in differences:
        if difference["known"]:
            click.echo(f"known: {difference['scenario']}: {difference['difference']}")
        else:
            click.echo(f"UNEXPLAINED: {difference['scenario']}: {difference['difference']}: {difference['detail']}")
    summary = result["summary"]
    failed = {t: sum(1 for r in results if r.status == "failed") for t, (results, _) in runs.items()}
    click.echo(f"parity {' / '.join(names)}: {summary['compared']} scenarios compared, {summary['differences']} "
               f"differences, {summary['known']} known, {summary['unexplained']} unexplained; failed scenarios: "
               + ", ".join(f"{t} {n}" for t, n in failed.items()))
    if report_dir is not None:
        for target, (results, report) in runs.items():
            write_reports(results, report, report_dir / target)
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "parity.json").write_text(json.dumps(result, indent=1))
        (report_dir / "report.html").write_text(render_parity(result, {t: r for t, (_, r) in runs.items()}))
        click.echo(f"report: {report_dir / 'parity.json'}, {report_dir / 'report.html'}")
    _exit(1 if summary["unexplained"] or any(failed.values()) else 0)


@main.command()
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Also copy the template here (for cfn-lint and reviews).")
@click.option("--trial/--no-trial", default=True, show_default=True,
              help="Also deploy it into a throwaway account of the embedded moto target and tear it down, "
                   "so every API call is checked against botocore's service model and moto.")
def synth(output: Path | None, trial: bool) -> None:
    """Synthesize the app of [tool.harness] (cached) and check that the provisioner can deploy it."""
    from harness.project import load_app_source, project_settings
    from harness.provisioning.plan import plan
    from harness.provisioning.synth import synthesize
    from harness.settings import HarnessSettings

    try:
        source = load_app_source(Path.cwd())
        if source is None:
            raise click.ClickException("no [tool.harness] app in ./pyproject.toml")
        settings = HarnessSettings.resolve(environ=os.environ, ini=project_settings(Path.cwd()))
        result = synthesize(source, settings.cache_dir / "synth", os.environ)
        deployment = plan(result.template)
        if trial:
            from harness.trial import trial_deploy

            tried = trial_deploy(source, settings)
    except HarnessError as exc:
        raise click.ClickException(str(exc)) from exc
    if output is not None:
        import json

        output.parent.mkdir(parents=True, exist_ok=True)
        body = {"Resources": dict(result.template.resources), "Outputs": dict(result.template.outputs)}
        if result.template.parameters:
            body["Parameters"] = dict(result.template.parameters)
        output.write_text(json.dumps(body, indent=1))
    click.echo(f"{source.stack_name}: {len(deployment.order)} resources, {len(result.assets)} assets "
               f"({'cached' if result.cached else f'synthesized in {result.seconds:.1f} s'})"
               + (f"; template: {output}" if output else ""))
    if trial:
        click.echo(f"trial deploy on moto: {tried.resources} resources created and deleted in {tried.seconds:.1f} s")


def _register_groups() -> None:
    from harness.aws_cli import aws
    from harness.fault_cli import fault
    from harness.iam_cli import cost, iam

    main.add_command(aws)
    main.add_command(fault)
    main.add_command(iam)
    main.add_command(cost)


_register_groups()


if __name__ == "__main__":
    entry()
