"""Simulated dashboard sessions for benchmarks/bench_load.py: Dash's renderer protocol over plain HTTP.

A :class:`Session` behaves like one browser tab on the dashboard:

* it opens the page as Chromium does: ``GET /`` (the page's ``_dash-config``
  holds the signed ``end_id`` of this page load), the scripts and styles on a
  first visit (a browser caches them), ``/_dash-layout``, ``/_dash-dependencies``,
  then the callbacks the page calls on its own, and every callback their answers
  trigger, in the renderer's order: a callback waits while another one that
  produces one of its inputs is pending;
* a background callback answers its first POST with signed ``cacheKey`` and
  ``job`` handles; the session polls with them (``?endId=&cacheKey=&job=``,
  input values nulled, every ``interval`` ms) until the result comes, as the
  renderer does, unless the first answer holds the result already (answered
  in the web process). A new request for the same callback while its job is pending
  carries ``oldJob=<handle>`` and the old poll is dropped ("superseded");
* request bodies are the ones captured from Chromium (:mod:`load_capture`),
  with the session's own values; the status poll runs on its own timer; grid
  thumbnails are fetched once per session, like a browser cache would.

Outcomes of each callback request (:class:`Call`): ``updated``, ``no_update``
(204), ``superseded`` (the same
session asked again), ``abandoned`` (the page was reloaded), or a failure:
``timeout``, ``network_error``, ``http_error``. A call is *expected* when a chart
of the visible tab waits for it; an expected call that ends in ``no_update`` or a
failure is a **lost update**.
"""

from __future__ import annotations

import copy
import json
import random
import re
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import requests

from benchmarks.load_capture import DISPATCH, Capture
from detlens.callbacks.common import GATES_NAMESPACE
from detlens.core.settings import IOU_SLIDER_VALUES, SCORE_SLIDER_VALUES
from detlens.layouts import ids

BROWSER_CONNECTIONS = 6  # Chromium's connections per host (HTTP/1.1); more requests wait for one
REQUEST_TIMEOUT_S = 60.0  # a browser waits longer; an update not there within --update-timeout is lost anyway
LOST_OUTCOMES = frozenset({"no_update", "timeout", "network_error", "http_error"})
FAILED_OUTCOMES = frozenset({"timeout", "network_error", "http_error"})
CONFIG_SCRIPT = re.compile(r'<script id="_dash-config" type="application/json">(.*?)</script>', re.S)
THUMBNAIL = re.compile(r"/images/[0-9a-f]+/\d+/thumb\.jpg\?size=\d+")
MIN_SCORES = SCORE_SLIDER_VALUES
TABS = (ids.TAB_METRICS, ids.TAB_PERFORMANCE, ids.TAB_EXPLORER)
QUICK_STEPS, QUICK_STEP_GAP_S = 3, 0.2  # "quick steps": a slider moved three times, 0.2 s apart
# user actions and their weights: sliders, classes, tabs, the Explorer's grid, quick steps, a reload now and then
ACTIONS = {"iou": 3, "min_score": 2, "classes": 1, "tab": 2, "explorer": 2, "quick_steps": 1, "reload": 0.3}


@dataclass
class Call:
    """One callback request of a session, followed to its final answer (times: ``time.monotonic()`` s)."""

    session: int
    output: str
    background: bool
    expected: bool  # a chart of the visible tab waits for this answer
    t0: float
    t1: float | None = None
    outcome: str = "pending"
    job: str | None = None  # the server's job id (pid, or Celery task id): the handle without its signature
    polls: int = 0
    error: str | None = None

    @property
    def lost(self) -> bool:
        """An expected update that never arrived."""
        return self.expected and self.outcome in LOST_OUTCOMES


@dataclass
class Action:
    """One user step (or a page load) and the calls it caused."""

    session: int
    kind: str
    t0: float
    calls: list[Call] = field(default_factory=list)
    t_done: float | None = None
    images: list = field(default_factory=list, repr=False)  # thumbnail requests in flight
    appeared: list = field(default_factory=list, repr=False)  # new content with pattern-matching ids

    def latency(self) -> float | None:
        """Seconds from the input change to the last expected update; None if one was lost or none was expected."""
        waited = [c for c in self.calls if c.expected and c.outcome not in ("superseded", "abandoned")]
        if not waited or any(c.lost for c in waited):
            return None
        return max(c.t1 for c in waited) - self.t0


@dataclass
class Hit:
    """One HTTP request: when, what kind (page, asset, layout, callback, poll, thumbnail, login), how it ended."""

    session: int
    t0: float
    t1: float
    kind: str
    status: int | None
    error: str | None


class Log:
    """Everything the sessions did, appended from many threads (list appends are atomic in CPython)."""

    def __init__(self):
        self.hits: list[Hit] = []
        self.actions: list[Action] = []
        self.calls: list[Call] = []
        self.failures: list[str] = []


@dataclass(frozen=True)
class Callback:
    """A callback as ``/_dash-dependencies`` describes it."""

    output: str
    outputs: frozenset  # (id, prop) pairs it sets
    inputs: tuple  # (id, prop) pairs, in request order; pattern-matching ids as their JSON text
    interval_s: float | None  # background callbacks: the renderer's poll interval
    state: tuple = ()  # (id, prop) pairs read as State
    gate: str | None = None  # a tab gate the browser runs (assets/tab_gates.js): its function's name

    @classmethod
    def of(cls, dep: dict) -> "Callback":
        parts = dep["output"][2:-2].split("...") if dep["output"].startswith("..") else [dep["output"]]
        outputs = frozenset((i, p.partition("@")[0]) for i, _, p in (part.rpartition(".") for part in parts))
        background = dep.get("background")
        function = dep.get("clientside_function") or {}
        return cls(dep["output"], outputs, tuple((d["id"], d["property"]) for d in dep["inputs"]),
                   background.get("interval", 500) / 1000 if background else None,
                   tuple((d["id"], d["property"]) for d in dep.get("state", [])),
                   function.get("function_name") if function.get("namespace") == GATES_NAMESPACE else None)


def layout_values(node, values: dict | None = None) -> dict:
    """``{(id, prop): value}`` of every component with a string id in a ``/_dash-layout`` document."""
    values = {} if values is None else values
    if isinstance(node, list):
        for child in node:
            layout_values(child, values)
    elif isinstance(node, dict) and isinstance(node.get("props"), dict):
        props = node["props"]
        if isinstance(props.get("id"), str):
            values.update({(props["id"], k): v for k, v in props.items() if k != "children"})
        layout_values(props.get("children"), values)
    return values


def components_with_ids(node, found: list | None = None) -> list[dict]:
    """Props of every component in ``node`` whose id is a dict (pattern-matching ids)."""
    found = [] if found is None else found
    if isinstance(node, list):
        for child in node:
            components_with_ids(child, found)
    elif isinstance(node, dict):
        props = node.get("props") if isinstance(node.get("props"), dict) else None
        if props is not None:
            if isinstance(props.get("id"), dict):
                found.append(props)
            components_with_ids(props.get("children"), found)
    return found


def id_text(component_id) -> str:
    """A component id as the renderer writes it in ``changedPropIds`` (dict ids: sorted compact JSON)."""
    return component_id if isinstance(component_id, str) else json.dumps(component_id, sort_keys=True,
                                                                         separators=(",", ":"))


def matches(pattern: dict, component_id: dict) -> bool:
    """True when a dict id fits a pattern-matching id (``["ALL"]`` and the like match any value)."""
    return set(pattern) == set(component_id) and all(
        isinstance(v, list) or component_id[k] == v for k, v in pattern.items())


class Session:
    """One simulated browser tab (see the module docstring); :meth:`run` drives it until a deadline.

    Args:
        index: the session's number (in every record).
        base: the server's URL (``http://127.0.0.1:PORT``).
        capture: payloads and facts captured from Chromium.
        log: where calls, actions and requests are recorded.
        seed: the session's random choices.
        login: ``(user, password)`` when the server requires login.
        think_s: ``(low, high)`` pause after each step, seconds.
        update_timeout_s: a background result not arrived by then is lost ("timeout").
    """

    def __init__(self, index: int, base: str, capture: Capture, log: Log, seed: int,
                 login: tuple[str, str] | None = None, think_s: tuple[float, float] = (1.0, 4.0),
                 update_timeout_s: float = 60.0):
        self.index, self.base, self.capture, self.log = index, base.rstrip("/"), capture, log
        self.rng = random.Random(seed)
        self.login, self.think_s, self.update_timeout_s = login, think_s, update_timeout_s
        self.http = requests.Session()
        self.connections = threading.Semaphore(BROWSER_CONNECTIONS)
        self.pool = ThreadPoolExecutor(max_workers=4 * BROWSER_CONNECTIONS, thread_name_prefix=f"session{index}")
        self.state: dict = {}
        self.callbacks: dict[str, Callback] = {}
        self.pending_jobs: dict[str, tuple[Call, str, list]] = {}  # output -> (call, signed job, its outdated flag)
        self.images_seen: set[str] = set()
        self.assets_loaded = False
        self.end_id: str | None = None
        self.stopped = threading.Event()
        self.page_lock = threading.RLock()  # a reload and the status interval's tick never overlap

    # ----- HTTP --------------------------------------------------------------------------------
    def request(self, method: str, path: str, kind: str, **options) -> requests.Response | None:
        """One request over one of the tab's connections; None on a network error. Recorded in the log."""
        with self.connections:
            t0 = time.monotonic()
            try:
                response = self.http.request(method, self.base + path, timeout=REQUEST_TIMEOUT_S,
                                             allow_redirects=False, **options)
                _ = response.content  # the whole body, as a browser reads it
            except requests.RequestException as exc:
                self.log.hits.append(Hit(self.index, t0, time.monotonic(), kind, None, type(exc).__name__))
                return None
            self.log.hits.append(Hit(self.index, t0, time.monotonic(), kind, response.status_code, None))
            return response

    def dispatch(self, args: list[tuple[str, str]], body: dict, kind: str) -> requests.Response | None:
        """A POST to ``/_dash-update-component`` with the renderer's query arguments."""
        return self.request("POST", DISPATCH, kind, params=args, data=json.dumps(body),
                            headers={"Content-Type": "application/json"})

    # ----- page load ---------------------------------------------------------------------------
    def log_in(self) -> None:
        """The login form, as a browser submits it; the session cookie is kept."""
        user, password = self.login
        self.request("GET", "/login", "login", headers={"Accept": "text/html"})
        answer = self.request("POST", "/login", "login", data={"username": user, "password": password, "next": "/"})
        if answer is None or answer.status_code != 303:
            raise RuntimeError(f"session {self.index}: login answered {answer and answer.status_code}")

    def open_page(self) -> bool:
        """Load the page and wait until its charts are drawn; False when the page itself failed to load."""
        with self.page_lock:  # a new page has a new interval: the old one does not tick into the load
            return self.load_page()

    def load_page(self) -> bool:
        """:meth:`open_page` under the page lock."""
        for _, flag in list(self.pending_jobs.values()):
            flag.append("abandoned")  # a reload drops the old page's polls
        self.pending_jobs.clear()
        action = Action(self.index, "load", time.monotonic())
        page = self.request("GET", "/", "page", headers={"Accept": "text/html,application/xhtml+xml"})
        config = CONFIG_SCRIPT.search(page.text) if page is not None and page.status_code == 200 else None
        if config is None:
            self.log.failures.append(f"session {self.index}: page answered {page and page.status_code}")
            return False
        self.end_id = json.loads(config.group(1))["end_id"]
        if not self.assets_loaded:
            wait([self.pool.submit(self.request, "GET", path, "asset") for path in self.capture.assets])
            self.assets_loaded = True
        layout = self.request("GET", "/_dash-layout", "layout")
        dependencies = self.request("GET", "/_dash-dependencies", "layout")
        if layout is None or dependencies is None or 200 not in (layout.status_code, dependencies.status_code):
            self.log.failures.append(f"session {self.index}: layout or dependencies failed")
            return False
        self.callbacks = {d["output"]: Callback.of(d) for d in dependencies.json()}
        self.state = layout_values(layout.json())
        produced = set().union(*(cb.outputs for cb in self.callbacks.values()))
        for template in self.capture.templates.values():  # component defaults the layout does not spell out
            for entry in template["inputs"] + template.get("state", []):
                prop = (entry["id"], entry["property"]) if isinstance(entry, dict) else None
                if prop and isinstance(prop[0], str) and prop not in produced:  # not what a callback will set
                    self.state.setdefault(prop, entry.get("value"))
        self.propagate({output: set() for output in self.capture.initial}, action)
        poll = self.status_callback()
        deadline = time.monotonic() + self.update_timeout_s
        while not self.state.get((ids.DATA_KEY, "data")) and time.monotonic() < deadline:  # still preparing
            time.sleep(self.state.get((ids.STATUS_INTERVAL, "interval"), 300) / 1000)
            self.tick(poll, action)
        self.finish(action)
        return True

    def status_callback(self) -> str:
        """The output of the preparation poll: the callback the status interval drives that sets the dataset key."""
        return next(o for o, cb in self.callbacks.items()
                    if (ids.STATUS_INTERVAL, "n_intervals") in cb.inputs and f"{ids.DATA_KEY}.data" in o)

    def tick(self, output: str, action: Action) -> None:
        """One tick of the status interval."""
        key = (ids.STATUS_INTERVAL, "n_intervals")
        self.state[key] = (self.state.get(key) or 0) + 1
        self.propagate({output: {key}}, action)

    def status_timer(self) -> None:
        """The status interval, ticking on its own as the page's ``dcc.Interval`` does."""
        output = self.status_callback()
        while not self.stopped.wait(self.state.get((ids.STATUS_INTERVAL, "interval"), 3000) / 1000):
            with self.page_lock:
                if self.state.get((ids.STATUS_INTERVAL, "disabled")):
                    continue
                action = Action(self.index, "status", time.monotonic())
                self.tick(output, action)
                self.finish(action)

    def finish(self, action: Action) -> None:
        action.t_done = time.monotonic()
        self.log.actions.append(action)

    # ----- callbacks ---------------------------------------------------------------------------
    def expects(self, callback: Callback) -> bool:
        """True when a chart of the visible tab waits for this callback: a background callback of the visible tab
        (learned from the capture, see :class:`~benchmarks.load_capture.Capture`), once the page knows its dataset.

        A background callback the real page never saw update is not judged (the
        capture's ``tabs`` lacks it; :func:`bench_load.summarise` lists it).
        """
        tab = self.capture.tabs.get(callback.output)
        if callback.interval_s is None or tab is None or not self.state.get((ids.DATA_KEY, "data")):
            return False
        return self.state.get((ids.TABS, "active_tab")) == tab

    def body(self, callback: Callback, changed: set, patterns: dict | None = None) -> dict:
        """The captured request of ``callback`` with this session's values (``patterns``: {input index: list})."""
        body = copy.deepcopy(self.capture.templates[callback.output])
        for group in ("inputs", "state"):
            for index, entry in enumerate(body.get(group, [])):
                if group == "inputs" and patterns and index in patterns:
                    body[group][index] = patterns[index]
                elif isinstance(entry, dict) and isinstance(entry["id"], str):
                    entry["value"] = self.state.get((entry["id"], entry["property"]))
        changed_ids = sorted(f"{id_text(i)}.{p}" for i, p in changed)
        body["changedPropIds"] = changed_ids
        if "parsedChangedPropsIds" in body:
            body["parsedChangedPropsIds"] = changed_ids
        return body

    def run_gate(self, callback: Callback) -> set:
        """A tab gate, run in the session as the browser runs ``assets/tab_gates.js``: the request is stored only
        while the gate's tab is shown, its first value set, and (``storeRequestWhenShown``) its switch on."""
        *values, active = [self.state.get(prop) for prop in callback.inputs]
        if callback.gate == "storeRequestWhenShown" and values.pop() is not True:
            return set()
        if active != self.state.get(callback.state[0]) or not values[0]:
            return set()
        (prop,) = callback.outputs
        self.state[prop] = values
        return {prop}

    def call(self, callback: Callback, changed: set, action: Action, patterns: dict | None = None) -> set:
        """Send one callback request and follow it to its final answer; returns the (id, prop) pairs it changed.
        A tab gate runs in the session, as in the browser: no request."""
        if callback.gate:
            return self.run_gate(callback)
        record = Call(self.index, callback.output, callback.interval_s is not None, self.expects(callback),
                      time.monotonic())
        action.calls.append(record)
        self.log.calls.append(record)
        body = self.body(callback, changed, patterns)
        args = [("endId", self.end_id)]
        old = self.pending_jobs.pop(callback.output, None)
        if old is not None:  # the renderer kills the page's previous job of this callback and drops its poll
            args.append(("oldJob", old[1]))
            old[2].append("superseded")
        answer = self.dispatch(args, body, "callback")
        changed_now = set()
        if answer is not None and answer.status_code == 200:
            doc = answer.json()
            if record.background and "cacheKey" in doc and "response" not in doc:  # else answered at once
                doc = self.poll(callback, record, body, doc)
            if doc is not None and "response" in doc:
                changed_now = self.apply(doc["response"], action)
                record.outcome = "updated"
        elif answer is not None:
            record.outcome = "no_update" if answer.status_code == 204 else "http_error"
            record.error = None if answer.status_code == 204 else str(answer.status_code)
        else:
            record.outcome = "network_error"
        if record.outcome == "pending":
            record.outcome = "no_update"
        record.t1 = record.t1 or time.monotonic()
        return changed_now

    def poll(self, callback: Callback, record: Call, body: dict, handles: dict) -> dict | None:
        """Poll a background job until its answer (returned) or its end (None, outcome set on ``record``)."""
        record.job = handles["job"].rpartition("~")[0]
        outdated: list[str] = []
        self.pending_jobs[callback.output] = (record, handles["job"], outdated)
        blank = copy.deepcopy(body)  # the renderer nulls the values of a poll: the job already has them
        for entry in blank["inputs"] + blank.get("state", []):
            for item in entry if isinstance(entry, list) else [entry]:
                item["value"] = None
        args = [("endId", self.end_id), ("cacheKey", handles["cacheKey"]), ("job", handles["job"])]
        try:
            while True:
                time.sleep(callback.interval_s)
                if outdated:
                    record.outcome = outdated[0]
                    return None
                if time.monotonic() - record.t0 > self.update_timeout_s:
                    record.outcome = "timeout"
                    return None
                answer = self.dispatch(args, blank, "poll")
                record.polls += 1
                if outdated:  # the answer of a superseded job is dropped
                    record.outcome = outdated[0]
                    return None
                if answer is None:
                    record.outcome = "network_error"
                    return None
                if answer.status_code != 200:
                    record.outcome = "no_update" if answer.status_code == 204 else "http_error"
                    record.error = None if answer.status_code == 204 else str(answer.status_code)
                    return None
                doc = answer.json()
                if "response" in doc:
                    return doc
        finally:
            record.t1 = time.monotonic()
            if self.pending_jobs.get(callback.output, (None,))[0] is record:
                del self.pending_jobs[callback.output]

    def apply(self, response: dict, action: Action) -> set:
        """Set the answered props; returns them all: the renderer triggers what depends on a prop a callback
        set, even to the value it had (plotly/dash#908). Fetches new thumbnails of the grid."""
        changed = set()
        for component_id, props in response.items():
            for prop, value in props.items():
                changed.add((component_id, prop))
                self.state[(component_id, prop)] = value
                if component_id == ids.EXPLORER_GRID:
                    self.fetch_thumbnails(value, action)
                    action.appeared.append(value)
        return changed

    def fetch_thumbnails(self, grid, action: Action) -> None:
        """The grid's images a browser has not cached yet, fetched as the page shows them."""
        for path in dict.fromkeys(THUMBNAIL.findall(json.dumps(grid))):
            if path not in self.images_seen:
                self.images_seen.add(path)
                action.images.append(self.pool.submit(self.request, "GET", path, "thumbnail"))

    def dynamic_calls(self, new_content) -> list[tuple[str, set, dict]]:
        """Callbacks the renderer calls when components with pattern-matching ids appear (thumbnail clicks)."""
        found = components_with_ids(new_content)
        calls = []
        for output in self.capture.dynamic:
            callback = self.callbacks.get(output)
            if callback is None:
                continue
            patterns, changed = {}, set()
            for index, (pattern_text, prop) in enumerate(callback.inputs):
                if not pattern_text.startswith("{"):
                    continue
                pattern = json.loads(pattern_text)
                hits = [c for c in found if matches(pattern, c["id"])]
                patterns[index] = [{"id": c["id"], "property": prop, "value": c.get(prop)} for c in hits]
                changed |= {(id_text(c["id"]), prop) for c in hits}
            if changed:
                calls.append((output, changed, patterns))
        return calls

    def calls_back(self, output: str) -> bool:
        """True for a callback the session runs: one the real page sent (captured), or a tab gate."""
        return output in self.callbacks and (output in self.capture.templates or bool(self.callbacks[output].gate))

    def propagate(self, triggers: dict[str, set], action: Action) -> None:
        """Call the triggered callbacks and whatever their answers trigger, as the renderer orders them.

        ``triggers``: {callback output: (id, prop) pairs that changed}. A callback
        waits while one that produces one of its inputs is queued or running.
        """
        queued = {o: set(c) for o, c in triggers.items() if self.calls_back(o)}
        running: list[tuple[str, Future]] = []
        while queued or running:
            busy = {o for o, _ in running}
            producing = set().union(*(self.callbacks[o].outputs for o in [*queued, *busy]))
            ready = [o for o in queued if o not in busy
                     and not set(self.callbacks[o].inputs) & (producing - self.callbacks[o].outputs)]
            if not ready and not running:
                ready = list(queued)  # a cycle: the renderer calls them anyway
            for output in ready:
                future = self.pool.submit(self.call, self.callbacks[output], queued.pop(output), action)
                running.append((output, future))
            done, _ = wait([f for _, f in running], return_when=FIRST_COMPLETED)
            for output, future in [r for r in running if r[1] in done]:
                running.remove((output, future))
                changed = future.result()
                for other, callback in self.callbacks.items():
                    hit = set(callback.inputs) & changed
                    if hit and self.calls_back(other):
                        queued.setdefault(other, set()).update(hit)
            while action.appeared:
                for output, changed, patterns in self.dynamic_calls(action.appeared.pop()):
                    running.append((output, self.pool.submit(self.call, self.callbacks[output], changed, action,
                                                             patterns)))
        wait(action.images)

    def change(self, prop: tuple[str, str], value, kind: str) -> Action:
        """A user's input change: set it, call what it triggers, wait until the page has settled."""
        action = Action(self.index, kind, time.monotonic())
        self.state[prop] = value
        self.propagate({o: {prop} for o, cb in self.callbacks.items() if prop in cb.inputs}, action)
        self.finish(action)
        return action

    # ----- the user ----------------------------------------------------------------------------
    def pick(self, values, prop: tuple[str, str]):
        """A random value of ``values`` other than the current one."""
        current = self.state.get(prop)
        return self.rng.choice([v for v in values if v != current])

    def act(self) -> None:
        """One user step chosen at random (see ``ACTIONS``)."""
        kind = self.rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
        tab = self.state.get((ids.TABS, "active_tab"))
        if kind == "iou":
            self.change((ids.IOU, "value"), self.pick(IOU_SLIDER_VALUES, (ids.IOU, "value")), kind)
        elif kind == "min_score":
            self.change((ids.MIN_SCORE, "value"), self.pick(MIN_SCORES, (ids.MIN_SCORE, "value")), kind)
        elif kind == "classes":
            names = [o["value"] for o in self.state.get((ids.CLASSES, "options")) or []]
            chosen = names if self.rng.random() < 0.3 else self.rng.sample(names, self.rng.randint(1, len(names)))
            self.change((ids.CLASSES, "value"), chosen, kind)
        elif kind == "tab" or (kind == "explorer" and tab != ids.TAB_EXPLORER):
            target = ids.TAB_EXPLORER if kind == "explorer" else self.pick(TABS, (ids.TABS, "active_tab"))
            self.change((ids.TABS, "active_tab"), target, "tab")
        elif kind == "explorer":
            self.explore()
        elif kind == "quick_steps":
            self.quick_steps()
        else:
            self.open_page()

    def explore(self) -> None:
        """In the Explorer: another page of the grid, or another outcome filter."""
        pages = self.state.get((ids.EXPLORER_PAGES, "max_value")) or 1
        if pages > 1 and self.rng.random() < 0.6:
            page = self.pick(range(1, min(pages, 20) + 1), (ids.EXPLORER_PAGES, "active_page"))
            self.change((ids.EXPLORER_PAGES, "active_page"), page, "explorer_page")
            return
        options = [o["value"] for o in self.state.get((ids.EXPLORER_OUTCOMES, "options")) or []]
        chosen = self.rng.sample(options, self.rng.randint(1, len(options))) if options else []
        self.change((ids.EXPLORER_OUTCOMES, "value"), chosen, "explorer_outcomes")

    def quick_steps(self) -> None:
        """A slider moved ``QUICK_STEPS`` times in quick succession: each step supersedes the previous one's jobs."""
        prop, values = self.rng.choice([((ids.IOU, "value"), IOU_SLIDER_VALUES),
                                        ((ids.MIN_SCORE, "value"), MIN_SCORES)])
        steps = []
        for _ in range(QUICK_STEPS):
            step = threading.Thread(target=self.change, args=(prop, self.pick(values, prop), "quick_step"))
            step.start()
            steps.append(step)
            time.sleep(QUICK_STEP_GAP_S)
        for step in steps:
            step.join()

    def run(self, stop_at: float) -> None:
        """Log in if needed, open the page, then take steps until ``stop_at`` (monotonic s); never raises."""
        timer = None
        try:
            if self.login:
                self.log_in()
            while not self.open_page():
                if time.monotonic() > stop_at:
                    return
                time.sleep(1.0)  # the user reloads
            timer = threading.Thread(target=self.status_timer, daemon=True)
            timer.start()
            while time.monotonic() < stop_at:
                self.act()
                time.sleep(self.rng.uniform(*self.think_s))
        except Exception as exc:  # noqa: BLE001 - recorded; the benchmark reports it
            self.log.failures.append(f"session {self.index}: {type(exc).__name__}: {exc}")
        finally:
            self.stopped.set()
            if timer is not None:
                timer.join()
            self.pool.shutdown(wait=True)
            self.http.close()
