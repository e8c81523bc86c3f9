"""Build the site: `python build.py [build|check|serve|new|fields] ...`."""

from haven.cli import main

raise SystemExit(main())
