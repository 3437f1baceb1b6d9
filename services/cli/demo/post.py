"""``handover demo``: register a generated region through the public API and post its events."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Final

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.cli.demo.keys import keep_keys, kept_keys, still_accepted
from services.cli.demo.scenario import (
    DEFAULT_REGION,
    Organization,
    Params,
    PlannedPost,
    Scenario,
    generate,
)
from services.cli.support import (
    ServiceRefused,
    check_base_url,
    check_region,
    fail,
    problem_text,
)
from shared.core.settings import get_settings
from shared.rules.zone import TOKYO

BATCH_SIZE: Final = 500
MAX_ERRORS: Final = 5
ROLE_OF_KIND: Final = {
    "hospital": "hospital",
    "care_office": "care_office",
    "support_center": "support_center",
}


@dataclass
class PostSummary:
    """What the API answered; anything but created/duplicate means the generator has a bug."""

    created: int = 0
    duplicate: int = 0
    other: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    requests: int = 0

    @property
    def total(self) -> int:
        return self.created + self.duplicate + self.other

    @property
    def events_per_s(self) -> float:
        return self.total / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def note_error(self, text: str) -> None:
        self.other += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(text)


def register(
    client: httpx.Client,
    scenario: Scenario,
    admin_token: str,
    progress: Progress | None = None,
    concurrency: int = 1,
    kept: dict[str, str] | None = None,
) -> dict[str, str]:
    """Create the organizations (an identical repeat is fine) and one key per posting org that
    has none in `kept` (the keys a previous run issued)."""
    kept = kept or {}
    admin = {"Authorization": f"Bearer {admin_token}"}
    orgs_task = (
        progress.add_task("organizations", total=len(scenario.organizations)) if progress else None
    )
    posters = sorted({p.poster_org_id for p in scenario.posts} - set(kept))
    keys_task = progress.add_task("API keys", total=len(posters)) if progress else None
    kinds = {o.id: o.kind for o in scenario.organizations}

    def add_org(org: Organization) -> None:
        r = client.post("/v1/organizations", json=org.body(), headers=admin)
        if r.status_code not in (200, 201):
            raise ServiceRefused(f"organization {org.id}", r)
        if progress is not None and orgs_task is not None:
            progress.advance(orgs_task)

    def add_key(org_id: str) -> tuple[str, str]:
        body = {"organization_id": org_id, "role": ROLE_OF_KIND[kinds[org_id]]}
        r = client.post("/v1/api-keys", json=body, headers=admin)
        if r.status_code != 201:
            raise ServiceRefused(f"API key for {org_id}", r)
        if progress is not None and keys_task is not None:
            progress.advance(keys_task)
        return org_id, str(r.json()["key"])

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(add_org, scenario.organizations))
        return {**kept, **dict(pool.map(add_key, posters))}


def rounds(posts: Sequence[PlannedPost], size: int = BATCH_SIZE) -> list[list[list[PlannedPost]]]:
    """Batches to send, round by round: round r holds the r-th run of posts of every stay.

    A run is a stay's consecutive posts by one poster. Only the order within a stay matters
    (stays are independent), so one round's batches may go in parallel and each poster sends
    all its runs of a round in one batch: a care office's batch gathers its stays of every
    hospital and month instead of the one or two posts it has in a hospital's month.
    """
    stays: dict[tuple[str, str], list[list[PlannedPost]]] = {}
    for post in posts:
        runs = stays.setdefault((post.body["hospital_id"], post.body["encounter_ref"]), [])
        if runs and runs[-1][0].poster_org_id == post.poster_org_id:
            runs[-1].append(post)
        else:
            runs.append([post])
    planned: list[list[list[PlannedPost]]] = []
    for r in range(max((len(runs) for runs in stays.values()), default=0)):
        by_poster: dict[str, list[list[PlannedPost]]] = {}
        for runs in stays.values():
            if r < len(runs):
                by_poster.setdefault(runs[r][0].poster_org_id, []).append(runs[r])
        ordered = sorted(by_poster.values(), key=lambda rs: -sum(len(run) for run in rs))
        planned.append([batch for poster_runs in ordered for batch in _fill(poster_runs, size)])
    return planned


def _fill(runs: list[list[PlannedPost]], size: int) -> list[list[PlannedPost]]:
    """One poster's runs in batches of about ``size`` that never split a run: a round's batches
    go in parallel, so a cancel split from its target could arrive first (a 422)."""
    batches: list[list[PlannedPost]] = [[]]
    for run in runs:
        if batches[-1] and len(batches[-1]) + len(run) > size:
            batches.append([])
        batches[-1].extend(run)
    return batches


def post_events(
    client: httpx.Client,
    posts: Sequence[PlannedPost],
    keys: dict[str, str],
    progress: Progress | None = None,
    concurrency: int = 1,
) -> PostSummary:
    """POST /v1/events:batch round by round (see ``rounds``), a round's batches in parallel."""
    summary = PostSummary()
    lock = threading.Lock()
    task = progress.add_task("posting events", total=len(posts)) if progress else None

    def send(run: list[PlannedPost]) -> None:
        outcome = _post_run(client, run, keys)
        with lock:
            for post, status, error in outcome:
                if status in ("created", "duplicate"):
                    setattr(summary, status, getattr(summary, status) + 1)
                else:
                    summary.note_error(
                        f"{status}: {post.body['type']} by {post.poster_org_id}"
                        f" ({post.body['hospital_id']}): {error}"
                    )
        if progress is not None and task is not None:
            progress.advance(task, len(run))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for batches in rounds(posts):  # the largest first, so a round ends with small ones
            for done in [pool.submit(send, batch) for batch in batches]:
                done.result()
            summary.requests += len(batches)
    summary.elapsed_s = time.monotonic() - started
    return summary


def _post_run(
    client: httpx.Client, run: list[PlannedPost], keys: dict[str, str]
) -> list[tuple[PlannedPost, str, str]]:
    """One batch; each post with its status and the API's explanation (never the body)."""
    headers = {"Authorization": f"Bearer {keys[run[0].poster_org_id]}"}
    r = client.post("/v1/events:batch", json={"events": [p.body for p in run]}, headers=headers)
    if r.status_code != 200:
        return [(post, f"HTTP {r.status_code}", problem_text(r)) for post in run]
    return [
        (post, str(result["status"]), _explain(result))
        for post, result in zip(run, r.json()["results"], strict=True)
    ]


def _explain(result: dict[str, Any]) -> str:
    where = ", ".join(".".join(map(str, e.get("loc", []))) for e in result.get("errors") or [])
    return f"{result.get('error') or ''} {where}".strip()


def default_start(months: int, today: date) -> date:
    """So that every generated event, late reports included, lies safely in the past."""
    index = today.year * 12 + today.month - 1 - (months + 3)
    return date(index // 12, index % 12 + 1, 1)


def filled_months(first: date, months: int, issued: int) -> str:
    """Which months hold the admissions, so a reader knows what to pick on the dashboard."""
    index = first.year * 12 + first.month - 1 + months - 1
    last = date(index // 12, index % 12 + 1, 1)
    fiscal = sorted({d.year if d.month >= 4 else d.year - 1 for d in (first, last)})
    years = "、".join(f"{y}年度" for y in range(fiscal[0], fiscal[-1] + 1))
    return (
        f"admissions from {first:%Y-%m} to {last:%Y-%m} ({months} months; {years}): pick one "
        f"of them on the dashboard, or fetch /v1/reports/survey?month={last:%Y-%m}; "
        f"{issued} new API key(s) issued"
    )


def print_summary(
    console: Console, scenario: Scenario, summary: PostSummary, wall_s: float
) -> None:
    table = Table(title="handover demo", show_header=False)
    table.add_row("organizations", str(len(scenario.organizations)))
    table.add_row("stays", str(len(scenario.expected)))
    table.add_row("created", str(summary.created))
    table.add_row("duplicate", f"{summary.duplicate} (planned {scenario.planned_duplicates})")
    table.add_row("other", str(summary.other))
    table.add_row("batches", f"{summary.requests} (≤ {BATCH_SIZE} events each)")
    table.add_row("posting", f"{summary.elapsed_s:.1f} s, {summary.events_per_s:.0f} events/s")
    table.add_row("wall time", f"{wall_s:.1f} s (data, organizations, keys and events)")
    console.print(table)
    if summary.created == 0 and summary.duplicate:
        console.print("every event was already there: this seed and region ran before")
    for line in summary.errors:
        console.print(f"[red]{line}[/]")


def demo_command(
    url: Annotated[
        str | None,
        typer.Option(
            help="Base URL of a running API [default: http://127.0.0.1:$HANDOVER_PORT, or 8000].",
            show_default=False,
        ),
    ] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(
            envvar="HANDOVER_ADMIN_TOKEN",
            help="Admin key (default: the one `handover up` generated).",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Same seed, same data (a re-run is all duplicates).")
    ] = 1,
    hospitals: Annotated[int, typer.Option(help="Hospitals.")] = 24,
    care_offices: Annotated[int, typer.Option(help="Care offices (居宅介護支援事業所).")] = 300,
    support_centers: Annotated[int, typer.Option(help="地域包括支援センター.")] = 12,
    months: Annotated[int, typer.Option(help="Months of admissions.")] = 12,
    episodes: Annotated[int, typer.Option(help="Stays per hospital and month.")] = 40,
    start: Annotated[
        str | None, typer.Option(help="First month YYYY-MM (default: ends ~3 months ago).")
    ] = None,
    region: Annotated[
        str, typer.Option(help="Region code (another region: other organizations).")
    ] = DEFAULT_REGION,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in parallel.")] = 4,
) -> None:
    """Fill a running API with a realistic, seeded region (synthetic patients only)."""
    began = time.monotonic()
    console = Console()
    settings = get_settings()
    base = check_base_url(url) if url is not None else f"http://127.0.0.1:{settings.port}"
    check_region(region)
    console.print(f"demo region {region!r}, seed {seed}, into {base}")
    from services.cli.launcher import (
        ADMIN_TOKEN_FILE,  # its imports take seconds: after the first line
    )

    token_file = settings.data_dir.expanduser() / ADMIN_TOKEN_FILE
    if not admin_token and token_file.exists():
        admin_token = token_file.read_text().strip()  # the one `handover up` generated
    if not admin_token:
        fail("an admin token is needed: --admin-token or HANDOVER_ADMIN_TOKEN", 2)
    first = (
        datetime.strptime(start, "%Y-%m").date()
        if start
        else default_start(months, datetime.now(TOKYO).date())
    )
    try:
        params = Params(
            hospitals=hospitals,
            care_offices=care_offices,
            support_centers=support_centers,
            months=months,
            episodes_per_hospital_month=episodes,
            start=first,
            region=region,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    columns = (
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    limits = httpx.Limits(max_connections=concurrency + 1)
    with (
        httpx.Client(base_url=base, timeout=120, limits=limits) as client,
        Progress(*columns, console=console) as progress,
    ):
        generating = progress.add_task("generating data", total=months * hospitals)
        scenario = generate(
            params, seed, lambda done, _: progress.update(generating, completed=done)
        )
        data_dir = settings.data_dir.expanduser()
        kept = kept_keys(data_dir, base, region)
        if not still_accepted(client, kept):
            kept = {}
        keys = register(client, scenario, admin_token, progress, concurrency, kept)
        keep_keys(data_dir, base, region, keys)
        summary = post_events(client, scenario.posts, keys, progress, concurrency)
    print_summary(console, scenario, summary, time.monotonic() - began)
    console.print(filled_months(first, months, len(keys) - len(kept)))
    raise typer.Exit(1 if summary.other else 0)
