"""Work for the worker: broker selection, actor names, after-commit enqueue (both services)."""
