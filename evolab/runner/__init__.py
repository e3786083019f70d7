"""The generation loop: evaluate, evolve, store, checkpoint; resume exactly; fork; replays."""

from evolab.runner.fork import fork_run
from evolab.runner.replay import Replay, replay_creature, replay_in
from evolab.runner.run import Run
from evolab.runner.signals import StopRequest

__all__ = ["Replay", "Run", "StopRequest", "fork_run", "replay_creature", "replay_in"]
