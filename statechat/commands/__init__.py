"""Subcommands of the ``statechat`` CLI, one module each (see :mod:`statechat.cli`)."""
