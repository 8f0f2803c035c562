"""The `ganforge` command: thin subcommands over the library."""
