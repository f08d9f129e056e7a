"""Root conftest: the only place that names pytest plugins (the harness loads via its entry point)."""

pytest_plugins = ["pytester"]
