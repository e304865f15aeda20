"""Tools around the engine: the demo sandbox, the simulated agent, the audit of a range of commits."""
