"""One module per command; `sangja.cli.registry` maps command names to these modules.

Each module defines `SPEC` (a `sangja.cli.command.Spec`) and
`run(cli, opts, args) -> int`. Modules are imported only when their command runs.
"""
