"""``handover demo``: register a generated region through the public API and post its events."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Final

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.demo.model import TOKYO
from services.demo.scenario import Params, PlannedPost, Scenario, generate
from services.launcher import ADMIN_TOKEN_FILE
from shared.settings import get_settings

BATCH_SIZE: Final = 500
MAX_ERRORS: Final = 5
ROLE_OF_KIND: Final = {
    "hospital": "hospital",
    "care_office": "care_office",
    "support_center": "support_center",
}


class DemoError(Exception):
    """The API refused the setup (organizations or keys); nothing was posted."""


@dataclass
class PostSummary:
    """What the API answered; anything but created/duplicate means the generator has a bug."""

    created: int = 0
    duplicate: int = 0
    other: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

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


def register(client: httpx.Client, scenario: Scenario, admin_token: str) -> dict[str, str]:
    """Create the organizations (an identical repeat is fine) and one key per posting org."""
    admin = {"Authorization": f"Bearer {admin_token}"}
    for org in scenario.organizations:
        r = client.post("/v1/organizations", json=org.body(), headers=admin)
        if r.status_code not in (200, 201):
            raise DemoError(f"organization {org.id}: HTTP {r.status_code} {_detail(r)}")
    keys: dict[str, str] = {}
    kinds = {o.id: o.kind for o in scenario.organizations}
    for org_id in sorted({p.poster_org_id for p in scenario.posts}):
        body = {"organization_id": org_id, "role": ROLE_OF_KIND[kinds[org_id]]}
        r = client.post("/v1/api-keys", json=body, headers=admin)
        if r.status_code != 201:
            raise DemoError(f"api key for {org_id}: HTTP {r.status_code} {_detail(r)}")
        keys[org_id] = str(r.json()["key"])
    return keys


def batches(posts: Sequence[PlannedPost], size: int = BATCH_SIZE) -> Iterator[list[PlannedPost]]:
    """Consecutive posts by one poster, at most ``size`` at a time, in the planned order."""
    run: list[PlannedPost] = []
    for post in posts:
        if run and (post.poster_org_id != run[0].poster_org_id or len(run) == size):
            yield run
            run = []
        run.append(post)
    if run:
        yield run


def post_events(
    client: httpx.Client,
    posts: Sequence[PlannedPost],
    keys: dict[str, str],
    progress: Progress | None = None,
    concurrency: int = 1,
) -> PostSummary:
    """POST /v1/events:batch run by run; one stream per hospital, so a stay's order is kept."""
    summary = PostSummary()
    lock = threading.Lock()
    task = progress.add_task("posting events", total=len(posts)) if progress else None
    streams: dict[str, list[PlannedPost]] = {}
    for post in posts:
        streams.setdefault(str(post.body["hospital_id"]), []).append(post)

    def send(stream: list[PlannedPost]) -> None:
        for run in batches(stream):
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
        for done in [pool.submit(send, stream) for stream in streams.values()]:
            done.result()
    summary.elapsed_s = time.monotonic() - started
    return summary


def _post_run(
    client: httpx.Client, run: list[PlannedPost], keys: dict[str, str]
) -> list[tuple[PlannedPost, str, str]]:
    """One batch; each post with its status and the API's explanation (never the body)."""
    headers = {"Authorization": f"Bearer {keys[run[0].poster_org_id]}"}
    r = client.post("/v1/events:batch", json={"events": [p.body for p in run]}, headers=headers)
    if r.status_code != 200:
        return [(post, f"HTTP {r.status_code}", _detail(r)) for post in run]
    return [
        (post, str(result["status"]), _explain(result))
        for post, result in zip(run, r.json()["results"], strict=True)
    ]


def _explain(result: dict[str, Any]) -> str:
    where = ", ".join(".".join(map(str, e.get("loc", []))) for e in result.get("errors") or [])
    return f"{result.get('error') or ''} {where}".strip()


def _detail(r: httpx.Response) -> str:
    try:
        return str(r.json().get("detail", ""))
    except ValueError:
        return r.text[:200]


def default_start(months: int, today: date) -> date:
    """So that every generated event, late reports included, lies safely in the past."""
    index = today.year * 12 + today.month - 1 - (months + 3)
    return date(index // 12, index % 12 + 1, 1)


def print_summary(console: Console, scenario: Scenario, summary: PostSummary) -> None:
    table = Table(title="handover demo", show_header=False)
    table.add_row("organizations", str(len(scenario.organizations)))
    table.add_row("stays", str(len(scenario.expected)))
    table.add_row("created", str(summary.created))
    table.add_row("duplicate", f"{summary.duplicate} (planned {scenario.planned_duplicates})")
    table.add_row("other", str(summary.other))
    table.add_row("elapsed", f"{summary.elapsed_s:.1f} s")
    table.add_row("events/s", f"{summary.events_per_s:.0f}")
    console.print(table)
    for line in summary.errors:
        console.print(f"[red]{line}[/]")


def demo_command(
    url: Annotated[str, typer.Option(help="Base URL of a running API.")] = "http://127.0.0.1:8000",
    admin_token: Annotated[
        str | None, typer.Option(envvar="HANDOVER_ADMIN_TOKEN", help="Admin key.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same region.")] = 1,
    hospitals: Annotated[int, typer.Option(help="Hospitals.")] = 24,
    care_offices: Annotated[int, typer.Option(help="Care offices (居宅介護支援事業所).")] = 300,
    support_centers: Annotated[int, typer.Option(help="地域包括支援センター.")] = 12,
    months: Annotated[int, typer.Option(help="Months of admissions.")] = 12,
    episodes: Annotated[int, typer.Option(help="Stays per hospital and month.")] = 40,
    start: Annotated[
        str | None, typer.Option(help="First month YYYY-MM (default: ends ~3 months ago).")
    ] = None,
    region: Annotated[str, typer.Option(help="Region code of every organization.")] = "kagoshima",
    concurrency: Annotated[int, typer.Option(help="Hospitals posted in parallel.")] = 4,
) -> None:
    """Fill a running API with a realistic, seeded region (synthetic patients only)."""
    console = Console()
    token_file = get_settings().data_dir.expanduser() / ADMIN_TOKEN_FILE
    if not admin_token and token_file.exists():
        admin_token = token_file.read_text().strip()  # the one `handover up` generated
    if not admin_token:
        console.print("[red]an admin token is needed[/] (--admin-token or HANDOVER_ADMIN_TOKEN)")
        raise typer.Exit(2)
    first = (
        datetime.strptime(start, "%Y-%m").date()
        if start
        else default_start(months, datetime.now(TOKYO).date())
    )
    params = Params(
        hospitals=hospitals,
        care_offices=care_offices,
        support_centers=support_centers,
        months=months,
        episodes_per_hospital_month=episodes,
        start=first,
        region=region,
    )
    scenario = generate(params, seed)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    limits = httpx.Limits(max_connections=concurrency + 1)
    with httpx.Client(base_url=url, timeout=120, limits=limits) as client:
        try:
            keys = register(client, scenario, admin_token)
        except (DemoError, httpx.HTTPError) as exc:
            console.print(f"[red]setup failed:[/] {exc}")
            raise typer.Exit(1) from None
        with Progress(*columns, console=console) as progress:
            summary = post_events(client, scenario.posts, keys, progress, concurrency)
    print_summary(console, scenario, summary)
    raise typer.Exit(1 if summary.other else 0)
