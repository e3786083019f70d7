"""`python -m evolab` runs the command-line interface."""

from evolab.cli.app import main

main()
