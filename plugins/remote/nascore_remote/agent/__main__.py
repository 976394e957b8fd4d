"""Entry script of the agent; uploaded as ``agent.py`` next to the ``_nascore_agent`` package."""
import sys

if __package__:  # python -m nascore_remote.agent (here)
    from .cli import main
else:  # python ~/.nascore/agent/<hash>/agent.py (on a machine)
    from _nascore_agent.cli import main

sys.exit(main(sys.argv[1:]))
