"""``python -m services.cli``: the ``handover`` command without its console script."""

from services.cli import app

app()
