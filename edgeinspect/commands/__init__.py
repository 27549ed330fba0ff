"""One module per subcommand of ``edgeinspect``: each has ``add_parser(subparsers)`` and ``run(args) -> int``."""
