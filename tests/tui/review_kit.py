"""A fixed review of the reference plan's wave 1, for the review screen's snapshots and pilot
tests: what git and the agents' logs would give (patches, each path's standing, who wrote which
hunk for which issue) and a review record with a comment, a reviewer's finding and a verdict."""

from __future__ import annotations

from wavedeck.agents.git.hunks import parse_patch
from wavedeck.agents.review.attribution import Write
from wavedeck.agents.review.changes import PathStanding, WaveChanges, group
from wavedeck.agents.reviewrecord import AgentVerdict, Comment, ReviewRecord
from wavedeck.agents.state import AgentRecord
from wavedeck.plan.models import Plan

CLIENT = "packages/headless-client/zajel/client.py"
CRYPTO = "packages/headless-client/zajel/crypto.py"
DAEMON = "packages/headless-client/zajel/daemon.py"
INDEX = "packages/server/src/index.js"
STRAY = "packages/headless-client/zajel/cli/daemon.py"

PATCH = f"""diff --git a/{CLIENT} b/{CLIENT}
index 1111111..2222222 100644
--- a/{CLIENT}
+++ b/{CLIENT}
@@ -1,7 +1,10 @@ import os
 \"\"\"client.py: part of the zajel headless client.\"\"\"
\x20
-def handshake(peer):
-    return exchange(peer.key)
+def handshake(peer, expected_id):
+    # headless-05: bind the exchanged key to the peer we meant to talk to
+    if peer.identity != expected_id:
+        raise HandshakeError('peer identity mismatch')
+    return exchange(peer.key, timeout=30)
\x20
 def close(peer):
     peer.socket.close()
@@ -40,4 +43,4 @@ def send(peer, data):
     frame = encode(data)
-    peer.socket.send(frame, flags=0)
+    peer.socket.sendall(frame)
     return len(frame)
diff --git a/{CRYPTO} b/{CRYPTO}
old mode 100644
new mode 100755
index 3333333..4444444
--- a/{CRYPTO}
+++ b/{CRYPTO}
@@ -3 +3 @@ import os
-salt = b''
+salt = os.urandom(32)
diff --git a/{DAEMON} b/{DAEMON}
deleted file mode 100644
index 5555555..0000000
--- a/{DAEMON}
+++ /dev/null
@@ -1,2 +0,0 @@
-import sys
-sys.exit(main())
diff --git a/packages/server/src/old-index.js b/{INDEX}
similarity index 91%
rename from packages/server/src/old-index.js
rename to {INDEX}
index 6666666..7777777 100644
--- a/packages/server/src/old-index.js
+++ b/{INDEX}
@@ -10,3 +10,3 @@ export default {{
   async fetch(request, env) {{
-    const origin = request.headers.get('Origin') || '*';
+    const origin = allowedOrigin(request.headers.get('Origin'));
     return handle(request, env, origin);
diff --git a/packages/server/assets/logo.png b/packages/server/assets/logo.png
index 8888888..9999999 100644
Binary files a/packages/server/assets/logo.png and b/packages/server/assets/logo.png differ
diff --git a/{STRAY} b/{STRAY}
index aaaaaaa..bbbbbbb 100644
--- a/{STRAY}
+++ b/{STRAY}
@@ -1 +1,2 @@
 def main():
+    os.umask(0o077)
"""


def review_changes(plan: Plan) -> WaveChanges:
    """The fixed changes, grouped by agent as the engine does."""
    standing = {
        CLIENT: PathStanding("w1-a1", "owned"),
        CRYPTO: PathStanding("w1-a1", "owned"),
        DAEMON: PathStanding("w1-a2", "owned"),
        INDEX: PathStanding("w1-a3", "owned"),
        "packages/server/assets/logo.png": PathStanding(
            "w1-a3", "accepted", "policy accept '**/assets/**'"
        ),
        STRAY: PathStanding(None, "stray", "declared by no agent; could belong to w1-a1 or w1-a2"),
    }
    records = {}
    for agent in plan.wave(1).agents:
        done = [i.id for i in agent.issues[:2]]
        records[agent.id] = AgentRecord(
            state="succeeded",
            wave=1,
            launches=1,
            issues_done=done,
            outcomes={i: "fixed" for i in done},
        )
    writes = {
        "w1-a1": [
            Write(CLIENT, "headless-05", 0, '"new_string": "def handshake(peer, expected_id):"'),
            Write(CLIENT, "headless-06", 0, '"new_string": "    peer.socket.sendall(frame)"'),
            Write(CRYPTO, "headless-06", 0, "{}"),
        ],
        "w1-a3": [Write(INDEX, "server-1", 0, "{}")],
    }
    return group(plan, 1, parse_patch(PATCH), standing, records, writes, old="t0", new="t1")


def review_record() -> ReviewRecord:
    return ReviewRecord(
        comments=[
            Comment(
                id=1,
                agent="w1-a1",
                path=CLIENT,
                line=7,
                text="Keep the old timeout: 30 s is too long for a handshake.",
                quote=["    return exchange(peer.key, timeout=30)"],
            ),
            Comment(
                id=2,
                agent="w1-a1",
                path=CRYPTO,
                line=3,
                author="reviewer",
                severity="high",
                text="The salt must be stored with the key, or decryption fails after a restart.",
            ),
        ],
        agents={"w1-a3": AgentVerdict(approved_by="Dev <dev@example.com>")},
        next_id=3,
    )
