"""Build the site: `python build.py [build|check|serve|new|fields] ...`."""

from haven.environment import use_project_environment

use_project_environment()  # a Python without Haven hands the command to the project's .venv

from haven.cli import main  # noqa: E402

raise SystemExit(main())
