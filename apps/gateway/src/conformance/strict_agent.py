"""Strict Keystream agents in Python, written from docs/agent-protocol.md alone (python-socketio 5.x).

One process hosts several agents. Commands arrive as JSON lines on stdin, reports leave as JSON lines
on stdout: {"type": "record", ...} whenever an agent holds a new position (for the cross-agent ledger),
{"type": "status", ...} on request. Every breach of the protocol is recorded, never raised.
"""
import asyncio, copy, hashlib, json, random, re, sys
import socketio

KNOWN_TYPES = {"CredentialAdded", "CredentialEdited", "CredentialRemoved"}
NS = "/agents"

# Saves that may land while one snapshot is read (§3); the JS agent's sequence-checker.ts has the same.
RESUME_SLACK = 5


def out(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def canonical_hash(creds):
    """§5: rows [id, provider, label, fields, secrets] sorted by id; pairs sorted by name; fingerprints only."""
    rows = [[c["id"], c["provider"], c["label"], sorted([k, v] for k, v in c["fields"].items()),
             sorted([k, s["fingerprint"]] for k, s in c["secrets"].items())]
            for c in sorted(creds.values(), key=lambda c: c["id"])]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


def merge(target, delta):
    for name, value in (delta or {}).items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value


class Agent:
    def __init__(self, name, org_id, token, urls):
        self.name, self.org_id, self.token, self.urls = name, org_id, token, urls
        self.creds, self.epoch, self.version, self.tainted = {}, 0, 0, False
        self.violations, self.seen_ids = [], set()
        self.session = None  # {"resume": position or None, "started": bool}
        self.pending = None  # resync outstanding: {"at", "seen"}
        self.sio, self.closing, self.task = None, False, None

    def fail(self, text):
        self.violations.append(f"{self.name}: [{self.org_id} e{self.epoch}/v{self.version}] {text}")

    def position(self):
        p = {"epoch": self.epoch, "version": self.version}
        if self.epoch > 0:  # the hash of what it holds, even unverified: keys.resync requires one
            p["hash"] = canonical_hash(self.creds)
        return p

    def record(self, exact):
        out({"type": "record", "orgId": self.org_id, "version": self.version, "hash": canonical_hash(self.creds), "exact": exact})

    def own_org(self, m, event):
        if m.get("orgId") == self.org_id:
            return True
        self.fail(f"{event} of another organization: {m.get('orgId')}")
        return False

    def on_snapshot(self, m):
        if not self.own_org(m, "keys.snapshot"):
            return None
        s, fresh = self.session, not (self.session and self.session["started"])
        if not fresh and m["epoch"] == self.epoch and not self.pending:
            self.fail(f"unsolicited snapshot v{m['version']} in epoch {m['epoch']}")
        if m["epoch"] < self.epoch:
            self.fail(f"snapshot in epoch {m['epoch']}, older than the agent's {self.epoch}")
        r = s and s["resume"]
        # §3: an agent that resumed at the head may get a snapshot (read model trailing), past the head by the saves
        # landing while it is built; only a snapshot further past the resume proves a behind agent got no changes.
        if fresh and r and m["epoch"] == r["epoch"] and RESUME_SLACK < m["version"] - r["version"] <= 1000:
            self.fail(f"resume at e{r['epoch']}/v{r['version']} (within the resume window) got a snapshot v{m['version']} (§3)")
        if self.pending:
            self.pending["seen"].add("snapshot")
        if s:
            s["started"] = True
        creds = {c["id"]: {"id": c["id"], "provider": c["provider"], "label": c["label"], "fields": dict(c.get("fields") or {}),
                           "secrets": copy.deepcopy(c.get("secrets") or {})} for c in m["credentials"]}
        if canonical_hash(creds) != m["hash"]:
            self.fail(f"snapshot v{m['version']}: hash {m['hash']} is not the canonical hash of its credentials")
        self.seen_ids.update(creds)
        self.creds, self.epoch, self.version, self.tainted = creds, m["epoch"], m["version"], False
        self.record(True)
        return {"epoch": self.epoch, "version": self.version}

    def on_changes(self, m):
        if not self.own_org(m, "keys.changes"):
            return None
        s = self.session
        if not s["started"]:
            if not s["resume"]:
                return self.fail(f"keys.changes v{m['fromVersion']}-{m['toVersion']} before the first snapshot of a session without resume")
            s["started"] = True
        p = self.pending
        if p and m["epoch"] == p["at"]["epoch"] and m["fromVersion"] == p["at"]["version"] + 1:
            p["seen"].add("changes")  # §2 keys.resync: from where the sequence stands it continues
        if m["epoch"] != self.epoch:
            return self.fail(f"keys.changes v{m['fromVersion']}-{m['toVersion']} in epoch {m['epoch']}, sequence is in epoch {self.epoch}")
        if m["fromVersion"] != self.version + 1:
            kind = "repeat" if m["fromVersion"] <= self.version else "gap"
            return self.fail(f"keys.changes v{m['fromVersion']}-{m['toVersion']} after v{self.version}: {kind}")
        versions = [c["version"] for c in m["changes"]]
        if versions != list(range(m["fromVersion"], m["toVersion"] + 1)):
            return self.fail(f"keys.changes {m['fromVersion']}-{m['toVersion']} holds versions {versions}")
        lost = False
        for c in m["changes"]:
            self.seen_ids.add(c["credentialId"])
            if c["type"] not in KNOWN_TYPES:
                continue  # §7: skipped, the version still advances
            if c["type"] == "CredentialRemoved":
                self.creds.pop(c["credentialId"], None)
                continue
            if c["type"] == "CredentialAdded":
                self.creds[c["credentialId"]] = {"id": c["credentialId"], "provider": c.get("provider", ""), "label": "", "fields": {}, "secrets": {}}
                lost = lost or "secrets" not in c
            held = self.creds.get(c["credentialId"])
            if held is None:
                continue
            if "label" in c:
                held["label"] = c["label"]
            merge(held["fields"], c.get("fields"))
            merge(held["secrets"], c.get("secrets"))
        self.version = m["toVersion"]
        if lost and "hash" in m:
            self.fail(f"keys.changes {m['fromVersion']}-{m['toVersion']} has an Added change without secrets and still a hash")
        mine = canonical_hash(self.creds)
        if "hash" not in m:
            self.tainted = True
        elif m["hash"] == mine:
            self.tainted = False
        elif not self.tainted:
            self.fail(f"keys.changes {m['fromVersion']}-{m['toVersion']}: server hash {m['hash']} != the applied key set's {mine}")
        self.record(not self.tainted)
        return {"epoch": self.epoch, "version": self.version}

    def on_insync(self, m):
        if not self.own_org(m, "keys.insync"):
            return
        s = self.session
        first = not s["started"]
        s["started"] = True
        at = self.pending["at"] if self.pending else (s["resume"] if first else None)
        if not at:
            return self.fail(f"keys.insync v{m['version']} neither answers a resume nor a resync")
        if m["epoch"] != at["epoch"] or m["version"] != at["version"] or m["version"] != self.version:
            return self.fail(f"keys.insync at e{m['epoch']}/v{m['version']} for a position e{at['epoch']}/v{at['version']} (agent at v{self.version})")
        if self.pending:
            self.pending["seen"].add("in-sync")
        if not self.tainted and m["hash"] != canonical_hash(self.creds):
            self.fail(f"keys.insync v{m['version']}: hash {m['hash']} != the agent's")

    async def ack(self, sio, at):
        if at is None:
            return
        def answered(r):
            if not (isinstance(r, dict) and r.get("ok") is True) and self.epoch == at["epoch"]:
                self.fail(f"keys.ack e{at['epoch']}/v{at['version']} refused: {r}")
        try:
            await sio.emit("keys.ack", at, namespace=NS, callback=answered)
        except socketio.exceptions.BadNamespaceError:
            pass  # the socket went away meanwhile: the next session resumes from this position anyway

    async def connect(self, resume=True):
        self.closing = False
        at = self.position() if resume and self.epoch > 0 else None
        auth = {"token": self.token, "protocol": 2, "orgId": self.org_id}
        if at:
            auth["resume"] = {"epoch": at["epoch"], "version": at["version"]}
            if "hash" in at:
                auth["hash"] = at["hash"]
        self.session, self.pending = {"resume": at, "started": False}, None
        sio = socketio.AsyncClient(reconnection=False)
        self.sio = sio
        refusal = {}
        live = lambda: self.sio is sio

        async def snapshot(m):
            if live():
                await self.ack(sio, self.on_snapshot(m))

        async def changes(m):
            if live():
                await self.ack(sio, self.on_changes(m))

        async def insync(m):
            if live():
                self.on_insync(m)

        async def gone(*_reason):
            if live() and not self.closing:
                self.later(0.1 + random.random() * 0.9)

        async def refused(data=None):
            refusal["data"] = data

        sio.on("keys.snapshot", snapshot, namespace=NS)
        sio.on("keys.changes", changes, namespace=NS)
        sio.on("keys.insync", insync, namespace=NS)
        sio.on("session.revoked", lambda m: self.fail(f"session.revoked {m}"), namespace=NS)
        sio.on("session.closed", lambda m: self.fail(f"session.closed {m} (this agent never abuses its budgets)"), namespace=NS)
        sio.on("disconnect", gone, namespace=NS)
        sio.on("connect_error", refused, namespace=NS)
        try:
            await sio.connect(random.choice(self.urls), namespaces=[NS], auth=auth, transports=["websocket"], wait_timeout=10)
        except socketio.exceptions.ConnectionError as e:
            data = refusal.get("data") if isinstance(refusal.get("data"), dict) else {}
            code, text = data.get("code", str(e)), str(data.get("message", ""))
            if code in ("unauthorized", "forbidden", "token_expired", "unsupported_protocol"):
                self.fail(f"connect_error {code}: {text}")
            wait = int((re.search(r"\d+", text) or [2])[0]) + random.random() if code == "rate_limited" else 0.3 + random.random() * 0.7
            if code == "unavailable" and isinstance(data.get("retryAfterMs"), (int, float)):
                wait = data["retryAfterMs"] / 1000 + random.random() * 0.5  # §1: the server is busy
            self.later(wait)

    def later(self, seconds):
        if self.closing:
            return
        old, self.sio = self.sio, None
        async def again():
            if old:
                await old.disconnect()
            await asyncio.sleep(seconds)
            if not self.closing and self.sio is None:
                await self.connect(True)
        self.task = asyncio.ensure_future(again())

    async def drop(self, pause_ms, fresh):
        await self.close()
        if fresh:
            self.creds, self.epoch, self.version, self.tainted = {}, 0, 0, False
        await asyncio.sleep(pause_ms / 1000)
        await self.connect(not fresh)

    async def resync(self):
        sio = self.sio
        if not sio or not sio.connected or not self.session["started"] or self.pending:
            return
        at = self.position()
        self.pending = {"at": at, "seen": set()}
        try:
            answer = await sio.call("keys.resync", at, namespace=NS, timeout=20)
        except Exception as e:  # a timeout or a socket gone away: the next session starts from scratch anyway
            answer = {"error": repr(e)}
        if self.sio is not sio or not sio.connected:
            return
        p, self.pending = self.pending, None
        result = answer.get("result") if isinstance(answer, dict) and answer.get("ok") else None
        if result not in ("changes", "snapshot", "in-sync"):
            self.fail(f"resync answer {answer} is not ok with a result")
        elif p and result not in p["seen"]:
            self.fail(f"resync from v{at['version']} answered \"{result}\" but no such message arrived before the answer")

    async def close(self):
        self.closing = True
        sio, self.sio = self.sio, None
        if sio:
            await sio.disconnect()

    def status(self):
        settled = bool(self.sio and self.sio.connected and self.session and self.session["started"] and not self.pending)
        return {"connected": bool(self.sio and self.sio.connected), "settled": settled, "epoch": self.epoch, "version": self.version,
                "hash": canonical_hash(self.creds), "tainted": self.tainted, "violations": self.violations,
                "seenIds": sorted(self.seen_ids), "credentials": list(self.creds.values())}


async def main():
    urls = sys.argv[1:]
    agents = {}
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        c = json.loads(line)
        cmd, a = c["cmd"], agents.get(c.get("name"))
        if cmd == "add":
            agents[c["name"]] = Agent(c["name"], c["orgId"], c["token"], urls)
        elif cmd == "connect":
            asyncio.ensure_future(a.connect(c.get("resume", True)))
        elif cmd == "drop":
            asyncio.ensure_future(a.drop(c["pauseMs"], c.get("fresh", False)))
        elif cmd == "resync":
            asyncio.ensure_future(a.resync())
        elif cmd == "status":
            out({"type": "status", "id": c["id"], "agents": {n: x.status() for n, x in agents.items()}})
        elif cmd == "close":
            await asyncio.gather(*(x.close() for x in agents.values()))
            break


def selftest():
    """§5's worked example, byte for byte: the Python agent hashes as the document says."""
    creds = {
        "f0e1d2c3-0000-4000-8000-000000000002": {"id": "f0e1d2c3-0000-4000-8000-000000000002", "provider": "gemini", "label": "Équipe Zürich 東京",
                                                 "fields": {}, "secrets": {"apiKey": {"fingerprint": "Zm9vYmFyYmF6cXV4MDAwMQ"}}},
        "0a1b2c3d-0000-4000-8000-000000000001": {"id": "0a1b2c3d-0000-4000-8000-000000000001", "provider": "openai", "label": 'Prod "main"',
                                                 "fields": {"project": "proj_FAKE", "baseUrl": "https://api.openai.com/v1"},
                                                 "secrets": {"apiKey": {"fingerprint": "c2stcHJvai1GQUtFMDAwMQ"}}},
    }
    got = {"example": canonical_hash(creds), "empty": canonical_hash({})}
    want = {"example": "b6022f18ff34a78b82d763c3d00210ecbf7faf8f5af36e4367278ce9dc3e7a89",
            "empty": "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"}
    out({"type": "selftest", "ok": got == want, "got": got})


if sys.argv[1:] == ["--selftest"]:
    selftest()
else:
    asyncio.run(main())
