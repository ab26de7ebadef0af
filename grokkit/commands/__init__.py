"""One module per CLI subcommand (see ``grokkit.cli.COMMANDS``)."""
