"""The review of a wave's changes, engine side (no UI): what each agent changed and why.

- ``changes``: a wave's changes grouped by agent, each agent with its issues and their
  outcomes, each hunk with the issue its agent was working on when it wrote it;
- ``attribution``: that issue, read back from the agent's log through its preset's parser;
- ``comments``: a comments file (``path:line: text``) and the follow-up message a change
  request sends;
- ``findings``: a reviewer agent's prompt and the findings block it answers with;
- ``reviewer``: one reviewer agent's run (read-only under the kernel sandbox);
- ``summary``: the review's lines and trailers in the checkpoint message.

The supervisor's part that records a review (the one writer of ``WaveRecord.review``) is
``wavedeck.agents.wave.reviews``.
"""
