"""`handover user add`: the operator creates an organization's first org_admin (or anyone)."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from services.cli.admin import console, in_transaction
from services.cli.support import HandoverGroup
from shared.core.settings import get_settings
from shared.people.schemas import PersonRole, UserIn
from shared.people.service import PersonConflict, UnknownOrganization, add_user

user_app = typer.Typer(
    cls=HandoverGroup, help="Add people (staff accounts) to an organization.", no_args_is_help=True
)


@user_app.command("add")
def user_add(
    organization_id: Annotated[str, typer.Argument(help="The person's organization")],
    login_id: Annotated[str, typer.Argument(help="3-64 of A-Z a-z 0-9 . _ @ - (unique)")],
    name: Annotated[str, typer.Option(help="Display name shown on the screens")],
    role: Annotated[PersonRole, typer.Option(help="member, or org_admin")] = "member",
) -> None:
    """Add a person; their one-time enrolment URL (72 hours) is printed on stdout: hand it over."""
    try:
        body = UserIn(
            organization_id=organization_id, login_id=login_id, display_name=name, role=role
        )
    except ValidationError as exc:
        for error in exc.errors(include_input=False):
            console.print(f"[red]{'.'.join(map(str, error['loc']))}: {error['msg']}[/]")
        raise typer.Exit(2) from None
    screens_url = get_settings().screens_url
    try:
        enrolled = in_transaction(lambda s: add_user(s, body, screens_url=screens_url))
    except (PersonConflict, UnknownOrganization) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(f"person {enrolled.user.id} ({role} of {organization_id}); enrolment link:")
    typer.echo(enrolled.enrolment_url)
