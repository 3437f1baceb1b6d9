"""Recording handover events: the use case, each event's checks, statements, responses."""
