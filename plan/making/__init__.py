"""Making a plan (``wavedeck plan make``): issues with the files they need, into waves of agents
that share no file. ``planner`` is the entry; ``inputs`` reads issues, ``render`` writes the plan.
"""
