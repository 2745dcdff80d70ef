"""Many users at once: concurrent browser sessions against one app server, and its memory.

    python bench/load.py [--sessions 8] [--sentences 4] [--soak 200] [--checkpoints DIR]
                         [--session-ttl 10] [--no-hostile-uploader] [--out FILE]
                         [--balancer [--replicas 2] | --url URL --replica-pids PID ...]

With ``--balancer`` it starts deploy/run-local.sh (``--replicas`` streamlit servers on loopback
ports behind HAProxy) and drives the balancer's URL instead; memory is then the sum over the
replicas, and a table gives each replica's VmRSS and the sessions HAProxy sent it. ``--url``
drives a balancer (or server) already running, whose replica pids ``--replica-pids`` name.

Starts ``streamlit run app.py`` on a free localhost port (bundled models from assets/checkpoints,
else tiny random ones) and drives it with Debian's Chromium:

1. Warm-up: one session translates and opens Compare, so the shared models are loaded.
2. ``--sessions`` browsers at once, each: translate ``--sentences`` sentences (waiting for each
   heatmap), open Compare (waiting for every heatmap), upload a hostile file (the loader's
   message must show), upload a checkpoint, and translate with it. While all sessions are
   still connected the server's resident memory is read; then they close, and after the
   disconnected-session TTL (``--session-ttl``, Streamlit's server.disconnectedSessionTTL) it is
   read again.
   With a hostile uploader (the default), one of the ``--sessions`` is an attacker instead: it
   uploads hostile files one after another (pickles that would allocate gigabytes, stride-0
   tensors, a valid 7 MB Transformer whose attention maps would take more than the memory budget, Markdown planted
   in every string) until the others are done, each refusal timed. The same normal sessions
   run six times in all, each time on new sentences (translations are cached per process):
   beside the hostile uploader, beside a control uploader that does the same browser work with
   truncated files (the cheapest refusal), and with no uploader, in the order ABC CBA. On one
   machine the browsers share the server's cores, so the control, not the run with no
   uploader, says what the hostile files cost the others.
3. Soak: one session translates ``--soak`` different sentences; memory every 10 translations.

Reports per-session latency, failures (an exception box, a console error, a timeout, a
missing message: all count), the server's VmRSS at each stage, growth per session beyond the
uploaded model it holds, and the soak's drift from where memory settled (after 50). Every wait
is bounded (120 s) and every loop counted; only 127.0.0.1 is contacted. Exit status 1 when
anything failed. Not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.app import DRAWN_JS, labels, tiny_checkpoints
from bench.common import MB, add_report_args, machine, markdown_table, report, rss
from bench.hostile import hostile_file, marker_path, planted_refusals
from models.checkpoint import load_checkpoint
from webapp import corpus, registry
from webapp.harness import app_server, browser_page, exceptions, free_port, go_to, open_app, type_sentence, wait_idle

ROOT = Path(__file__).resolve().parent.parent  # this checkout's (bench.common may come from an installed one)
WAIT_MS = 300_000  # generous: eight browsers and the server share what the machine has
SETTLE_AFTER = 50  # soak translations before memory counts as settled
HOSTILE_CASE = "pickle that runs code"
PLANTED = "markdown planted in the error message"  # a refusal quoting Markdown (bench.hostile.planted_refusals)
# What the hostile uploader sends, in turn: (hostile_files case, text its refusal shows).
ATTACKS = [
    (".pt whose pickle calls bytearray(8 GiB)", "never loaded"),
    (".pt whose pickle counts a bytearray(512 MiB)", "never loaded"),
    (".pt of stride-0 tensors declaring 200k x 1,024", "never loaded"),
    ("valid 7 MB Transformer of 2 layers of 64 heads", "budget per model"),
    ("config.hidden a string", "must be an integer"),
    (PLANTED, "invalid format version"),
]
CONTROL = "truncated in the header"  # the control uploader's file: refused from its first bytes
UPLOADERS = ("hostile", "control", "none")  # who uploads beside the normal sessions in a run
RUN_ORDER = [*UPLOADERS, *reversed(UPLOADERS)]  # ABC CBA: a drift over the runs weighs on each kind alike


@dataclass
class Session:
    """What one browser session measured."""

    translate_s: list[float] = field(default_factory=list)
    compare_s: float = 0.0
    upload_s: float = 0.0
    total_s: float = 0.0
    failures: list[str] = field(default_factory=list)


REPLICAS: list[int] = []  # --balancer / --url: the replica pids whose VmRSS is summed


def server_rss(pid: int) -> int:
    """VmRSS of the server: behind a balancer, the sum over its replicas."""
    return sum(rss(p) for p in REPLICAS) if REPLICAS else rss(pid)


@contextmanager
def balancer(checkpoints: Path, replicas: int) -> Iterator[tuple[str, str]]:
    """deploy/run-local.sh with ``replicas`` servers: yields (balancer URL, stats URL); always stops it."""
    run_dir = Path(tempfile.mkdtemp(prefix="bench-lb-"))
    base = free_port()
    while any(not _port_free(base + i) for i in range(replicas)):
        base = free_port()
    lb = free_port()
    env = os.environ | {"ATTNVIZ_CHECKPOINTS": str(checkpoints), "REPLICAS": str(replicas), "LB_PORT": str(lb), "BASE_PORT": str(base),
                        "STATS_PORT": str(free_port()), "RUN_DIR": str(run_dir), "PYTHON": sys.executable}
    proc = subprocess.Popen(["bash", str(ROOT / "deploy" / "run-local.sh")], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = stats = ""
        output = []
        for line in proc.stdout:  # run-local.sh bounds its own waits
            output.append(line)
            if line.startswith("stats: "):
                stats = line.split(" ", 1)[1].strip()
            if line.startswith("ready: "):
                url = line.split(" ", 1)[1].strip()
                break
        if not url:
            raise RuntimeError("deploy/run-local.sh did not start: " + "".join(output)[-2000:])
        REPLICAS[:] = [int((run_dir / f"replica{i + 1}.pid").read_text()) for i in range(replicas)]
        yield url, stats
    finally:
        proc.terminate()  # its trap stops the replicas and HAProxy it started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def haproxy_sessions(stats_url: str) -> dict[str, int]:
    """Sessions HAProxy sent each backend server (its stats CSV, ``stot``)."""
    with urllib.request.urlopen(stats_url + ";csv", timeout=5) as r:
        rows = list(csv.reader(r.read().decode().lstrip("# ").splitlines()))
    head = rows[0]
    return {row[1]: int(row[head.index("stot")] or 0) for row in rows[1:] if row and row[0] == "app" and row[1] not in ("FRONTEND", "BACKEND")}


def server_pid() -> int:
    """The streamlit process this script started (a child of this process)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid() and b"streamlit" in (proc / "cmdline").read_bytes():
                return int(proc.name)
        except (OSError, ValueError, IndexError):
            continue
    raise RuntimeError("the streamlit server process was not found")


class PeakRss(threading.Thread):
    """Samples a process's VmRSS twice a second until stopped; ``peak`` is the largest seen."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._stop_event = pid, 0, threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.5):
            self.peak = max(self.peak, server_rss(self.pid))

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


def upload(page, path: Path, alert: str, text: str) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.locator(f'[data-testid="{alert}"]').filter(has_text=text).wait_for(timeout=WAIT_MS)


def wait_drawn(page, chart_keys: list[str], sentence: str) -> None:
    """Wait until every chart in ``chart_keys`` shows the heatmap of ``sentence``."""
    page.wait_for_function(DRAWN_JS, arg=[chart_keys, labels(sentence)], timeout=WAIT_MS)


def translate(page, sentence: str) -> float:
    """Seconds from pressing Enter on Translate to the new sentence's heatmap drawn."""
    start = time.perf_counter()
    type_sentence(page, "translate", sentence)
    wait_drawn(page, ["translate_heatmap"], sentence)
    return time.perf_counter() - start


def open_compare(page, models: int, sentence: str) -> None:
    go_to(page, "Compare", WAIT_MS)
    wait_drawn(page, [f"compare_heatmap_{n}" for n in range(models)], sentence)


def failure(exc: Exception) -> str:
    """One line for a session's failure: its type and the first line of its message."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


def close(failures: list[str], page, problems: list[str], gates: list[threading.Barrier]) -> None:
    """The end of a browser session: its exception boxes and console problems counted as
    failures, then the gates where memory is read (all work done) and where browsers close."""
    failures += [f"exception box: {e[:200]}" for e in exceptions(page)] + problems
    gates[1].wait()
    gates[2].wait()


@dataclass
class Attacker:
    """What the hostile uploader did: seconds per refused upload, and failures."""

    refusals_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def attack(url: str, files: list[tuple[Path, str]], gates: list[threading.Barrier], done: threading.Event) -> Attacker:
    """Upload ``files`` (path, text of the refusal) in turn, each under a new name so that its own
    message is awaited, until ``done``; then meet the other sessions at the gates."""
    out = Attacker()
    try:
        with browser_page() as (page, problems):
            gates[0].wait()
            try:
                open_app(page, url, WAIT_MS)
                go_to(page, "Checkpoints", WAIT_MS)
                k = 0
                while not done.is_set():
                    path, text = files[k % len(files)]
                    named = path.with_name(f"attack-{k}.safetensors")
                    named.write_bytes(path.read_bytes())
                    t0 = time.perf_counter()
                    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(named))
                    page.locator('[data-testid="stAlertContentError"]').filter(has_text=f"attack-{k}.safetensors").filter(has_text=text).wait_for(timeout=WAIT_MS)
                    out.refusals_s.append(time.perf_counter() - t0)
                    named.unlink()
                    k += 1
            except Exception as exc:  # reported, not raised
                out.failures.append(failure(exc))
            if page.locator('img[src*="evil"], a[href*="evil"]').count():
                out.failures.append("planted Markdown became an image or a link")
            close(out.failures, page, problems, gates)
    except threading.BrokenBarrierError:
        out.failures.append("another session never reached the barrier")
    return out


def run_session(
    url: str, sentences: list[str], models: int, files: dict[str, Path], gates: list[threading.Barrier], finished: threading.Barrier
) -> Session:
    """One user: translate, compare, upload a hostile file and a good one, translate with it.

    ``gates``: [all browsers open, all work done (memory is read), closing]; ``finished``: the
    normal sessions done (which stops the hostile uploader)."""
    out = Session()
    try:
        with browser_page() as (page, problems):
            gates[0].wait()
            start = time.perf_counter()
            try:
                open_app(page, url, WAIT_MS)
                out.translate_s = [translate(page, s) for s in sentences]
                t0 = time.perf_counter()
                open_compare(page, models, sentences[-1])
                out.compare_s = time.perf_counter() - t0
                go_to(page, "Checkpoints", WAIT_MS)
                t0 = time.perf_counter()
                upload(page, files["hostile"], "stAlertContentError", "never loaded")
                upload(page, files["upload"], "stAlertContentSuccess", "(uploaded)")
                out.upload_s = time.perf_counter() - t0
                page.get_by_role("button", name="Translate with it").click()
                wait_idle(page, WAIT_MS)
                out.translate_s.append(translate(page, sentences[0] + " again"))
                out.total_s = time.perf_counter() - start
            except Exception as exc:  # a timeout or a missing element is a failure to report, not a crash
                out.failures.append(failure(exc))
            finished.wait()
            close(out.failures, page, problems, gates)
    except threading.BrokenBarrierError:
        out.failures.append("another session never reached the barrier")
    return out


def concurrent(
    url: str, pid: int, work_lists: list[list[str]], models: int, files: dict[str, Path], attacks: list[tuple[Path, str]] | None = None
) -> tuple[list[Session], dict[str, int], Attacker | None]:
    """Run one session per sentence list at once, and with ``attacks`` a hostile uploader beside
    them until they are done; also the server's peak and held VmRSS."""
    n = len(work_lists)
    gates = [threading.Barrier(n + 1 + bool(attacks), timeout=15 * WAIT_MS / 1000) for _ in range(3)]
    results: list[Session | None] = [None] * n
    attacker: list[Attacker | None] = [None]
    finished, done = threading.Barrier(n, action=lambda: done.set(), timeout=15 * WAIT_MS / 1000), threading.Event()

    def work(i: int) -> None:
        results[i] = run_session(url, work_lists[i], models, files, gates, finished)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    if attacks:
        threads.append(threading.Thread(target=lambda: attacker.__setitem__(0, attack(url, attacks, gates, done))))
    for t in threads:
        t.start()
    gates[0].wait()
    sampler = PeakRss(pid)
    sampler.start()
    gates[1].wait()
    memory = {"held": server_rss(pid), "peak": sampler.stop()}
    gates[2].wait()
    for t in threads:
        t.join()
    return [r or Session(failures=["thread died"]) for r in results], memory, attacker[0] if attacks else None


def expire_sessions(url: str, ttl: int) -> None:
    """Wait out the disconnected-session TTL, then connect once: Streamlit drops expired sessions lazily."""
    time.sleep(ttl + 2)
    with browser_page() as (page, _problems):
        open_app(page, url, WAIT_MS)
    time.sleep(3)


def soak(url: str, pid: int, sentences: list[str]) -> tuple[list[tuple[int, int]], list[str]]:
    """(translations done, VmRSS) every 10 translations of one session, and failures."""
    samples, failures = [], []
    with browser_page() as (page, problems):
        open_app(page, url, WAIT_MS)
        for k, sentence in enumerate(sentences, 1):
            try:
                translate(page, sentence)
            except Exception as exc:  # reported, and the soak goes on
                failures.append(f"translation {k}: {failure(exc)}")
            if k % 10 == 0:
                samples.append((k, server_rss(pid)))
        failures += [f"exception box: {e[:200]}" for e in exceptions(page)] + problems
    return samples, failures


def warm_up(url: str, models: int, sentence: str) -> None:
    with browser_page() as (page, _problems):
        open_app(page, url, WAIT_MS)
        translate(page, sentence)
        open_compare(page, models, sentence)


def model_bytes(translator) -> int:
    """Bytes a loaded model holds: its weights, each storage counted once (tied ones once)."""
    return sum({t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in translator.model.parameters()}.values())


def comparison(groups: dict[str, list[Session]], attacker: Attacker) -> str:
    """Translate times of the normal sessions beside the hostile uploader, beside the control
    uploader and with no uploader, each pooled over its runs."""
    def times(group: list[Session]) -> list[float]:
        return [t for s in group for t in s.translate_s]

    names = {"hostile": "beside the hostile uploader", "control": "beside the control uploader (truncated files)", "none": "with no uploader"}
    rows = [
        [names[kind], str(len(times(group))), f"{statistics.median(times(group) or [0]):.2f}", f"{max(times(group), default=0):.2f}"]
        for kind, group in groups.items()
    ]
    return markdown_table(["normal sessions' translations", "count", "median s", "max s"], rows) + (
        f"\n\nThe hostile uploader's files, in turn: {'; '.join(case for case, _ in ATTACKS)}. "
        f"Each refusal, from choosing the file to the loader's message shown: {', '.join(f'{t:.1f}' for t in attacker.refusals_s)} s."
    )


@contextmanager
def _target(args, folder: Path) -> Iterator[tuple[str, str]]:
    """(URL, HAProxy stats URL or "") of what to drive: a server of our own, run-local.sh, or --url."""
    if args.balancer:
        with balancer(folder, args.replicas) as target:
            yield target
    elif args.url:
        REPLICAS[:] = args.replica_pids
        yield args.url.rstrip("/"), ""
    else:
        with app_server(folder) as url:
            yield url, ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--sentences", type=int, default=4, help="sentences each session translates")
    parser.add_argument("--soak", type=int, default=200, help="translations in the one-session soak (0: skip)")
    parser.add_argument("--checkpoints", type=Path, help="bundled-model folder (default: assets/checkpoints, else tiny models)")
    parser.add_argument("--session-ttl", type=int, default=10, help="seconds a closed session is kept for reconnecting")
    parser.add_argument("--no-hostile-uploader", action="store_true", help="all sessions normal, no comparison run")
    parser.add_argument("--balancer", action="store_true", help="start deploy/run-local.sh and drive its HAProxy")
    parser.add_argument("--replicas", type=int, default=2, help="with --balancer: streamlit replicas behind it")
    parser.add_argument("--url", help="drive this running balancer or server instead of starting one (needs --replica-pids)")
    parser.add_argument("--replica-pids", type=int, nargs="+", default=[], help="with --url: the pids of its streamlit replicas")
    add_report_args(parser)
    args = parser.parse_args()
    if args.url and not args.replica_pids:
        parser.error("--url needs --replica-pids (their memory is what this bench reads)")

    folder = args.checkpoints or (registry.DEFAULT_DIR if registry.bundled_entries(registry.DEFAULT_DIR) else tiny_checkpoints())
    entries = registry.bundled_entries(folder)
    models = len(registry.default_compare(entries)) or 1
    upload_file = next(e.path for e in entries if e.label.startswith("en-zh-"))
    upload_bytes = model_bytes(load_checkpoint(upload_file))
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    hostile = tmp / "hostile.safetensors"  # a pickle under the accepted name, as an attacker would send it
    hostile.write_bytes(hostile_file(HOSTILE_CASE, tmp)[0])
    files = {"hostile": hostile, "upload": tmp / f"mine-{upload_file.name}"}
    files["upload"].write_bytes(upload_file.read_bytes())
    attacks = None
    if not args.no_hostile_uploader:
        attacks = []
        for n, (case, text) in enumerate(ATTACKS):
            path = tmp / f"attack-source-{n}"
            if case == PLANTED:
                path.write_bytes(planted_refusals(upload_file.read_bytes())["format version"])
            else:
                path.write_bytes(hostile_file(case, tmp)[0])
            attacks.append((path, text))
    normal = args.sessions - (attacks is not None)
    control_bytes, control_reason = hostile_file(CONTROL, tmp)
    control = [(tmp / "control-source", control_reason)]
    control[0][0].write_bytes(control_bytes)
    pool = [e.source for e in corpus.test_examples("en-zh") if "placeholder" not in e.source]
    need = max(args.soak, len(RUN_ORDER) * args.sessions * args.sentences) + 1  # every run on new sentences
    sentences = [s if k < len(pool) else f"{s} {k // len(pool)}" for k, s in ((k, pool[k % len(pool)]) for k in range(need))]

    os.environ["STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL"] = str(args.session_ttl)
    memory: dict[str, int] = {}
    replica_rows: list[list[str]] = []
    with _target(args, folder) as (url, stats):
        pid = 0 if REPLICAS else server_pid()
        memory["started"] = server_rss(pid)
        for _ in range(max(1, len(REPLICAS))):  # with a balancer: leastconn gives each replica one warm-up
            warm_up(url, models, sentences[0])
        expire_sessions(url, args.session_ttl)
        memory["base"] = server_rss(pid)
        def work(run: int) -> list[list[str]]:  # each session's sentences in run ``run``: new ones every run
            first = 1 + run * normal * args.sentences
            return [sentences[first + i * args.sentences : first + (i + 1) * args.sentences] for i in range(normal)]

        groups: dict[str, list[Session]] = {kind: [] for kind in UPLOADERS}
        uploaders: dict[str, list[Attacker]] = {kind: [] for kind in UPLOADERS}
        for run, kind in enumerate(RUN_ORDER if attacks else ["none"]):
            files_of = {"hostile": attacks, "control": control, "none": None}[kind]
            got, mem, uploader = concurrent(url, pid, work(run), models, files, files_of)
            groups[kind] += got
            uploaders[kind] += [uploader] if uploader else []
            if run == 0:  # the per-session table and memory are the first run's
                sessions = got
                memory |= mem
            else:
                memory[f"{kind} peak"] = max(memory.get(f"{kind} peak", 0), mem["peak"])
            expire_sessions(url, args.session_ttl)
            if run == 0:
                memory["released"] = server_rss(pid)
        samples, soak_failures = soak(url, pid, sentences[: args.soak]) if args.soak else ([], [])
        if REPLICAS:
            sent = haproxy_sessions(stats) if stats else {}
            replica_rows = [[f"r{i + 1} (pid {p})", f"{rss(p) / MB:.0f}", str(sent.get(f"r{i + 1}", "-"))] for i, p in enumerate(REPLICAS)]
    failures = [f"{kind} run, session {i % normal + 1}: {f}" for kind, group in groups.items() for i, s in enumerate(group) for f in s.failures]
    failures += [f"{kind} uploader: {f}" for kind, runs in uploaders.items() for u in runs for f in u.failures]
    failures += [f"soak: {f}" for f in soak_failures]
    attacker = Attacker([t for u in uploaders["hostile"] for t in u.refusals_s]) if attacks else None
    if marker_path(tmp).exists():
        failures.append("the hostile upload ran code")

    rows = [
        [str(i + 1), f"{s.total_s:.1f}", f"{statistics.median(s.translate_s):.2f}" if s.translate_s else "-", f"{max(s.translate_s, default=0):.2f}",
         f"{s.compare_s:.1f}", f"{s.upload_s:.1f}", str(len(s.failures))]
        for i, s in enumerate(sessions)
    ]
    if attacker:
        rows.append(["hostile uploader", "", "", "", "", f"{len(attacker.refusals_s)} refused, median {statistics.median(attacker.refusals_s or [0]):.1f} s, max {max(attacker.refusals_s, default=0):.1f} s", str(len(attacker.failures))])
    per_session = (memory["held"] - memory["base"]) / normal
    mem_rows = [
        ["server started", f"{memory['started'] / MB:.0f}"],
        ["after warm-up (shared models loaded), idle", f"{memory['base'] / MB:.0f}"],
        [f"peak while {normal} sessions ran" + (" beside the hostile uploader" if attacker else ""), f"{memory['peak'] / MB:.0f}"],
        *([[f"peak while the same {normal} sessions ran beside the control uploader", f"{memory['control peak'] / MB:.0f}"],
           [f"peak while the same {normal} sessions ran with no uploader", f"{memory['none peak'] / MB:.0f}"]] if attacker else []),
        [f"{normal} sessions connected, each holding its upload", f"{memory['held'] / MB:.0f}"],
        ["after they closed and expired", f"{memory['released'] / MB:.0f}"],
    ]
    parts = [
        f"Machine: {machine(torch.device('cpu'))}",
        f"Bundled models: {folder} ({len(entries)}; Compare shows {models}). Upload per session: {upload_file.name}, "
        f"{upload_bytes / MB:.1f} MB in memory once it has decoded (float32 weights).",
        markdown_table(["session", "total s", "translate median s", "translate max s", "compare s", "uploads s", "failures"], rows),
        *([comparison(groups, attacker)] if attacker else []),
        markdown_table(["server VmRSS", "MB"], mem_rows),
        f"Growth per additional session: {per_session / MB:.1f} MB, of which the uploaded model is {upload_bytes / MB:.1f} MB: "
        f"{(per_session - upload_bytes) / MB:.1f} MB beyond its upload. Released after the sessions ended: "
        f"{(memory['held'] - memory['released']) / MB:.0f} of {(memory['held'] - memory['base']) / MB:.0f} MB.",
    ]
    if samples:
        after = [v for k, v in samples if k >= SETTLE_AFTER] or [v for _, v in samples]
        settled, drift = after[0], max(abs(v - after[0]) for v in after) / after[0]
        parts.append(
            f"Soak, one session, {args.soak} translations: VmRSS {' '.join(f'{k}:{v / MB:.0f}' for k, v in samples)} (MB); "
            f"settled at {settled / MB:.0f} MB after {SETTLE_AFTER}, largest drift after that {drift:.1%}."
        )
    if replica_rows:
        parts.append(f"Behind the balancer ({url}), {len(REPLICAS)} replicas:\n\n"
                     + markdown_table(["replica", "VmRSS MB at the end", "HTTP requests and websockets HAProxy sent it (stot)"], replica_rows))
    parts.append(f"Failures: {len(failures)}" + "".join(f"\n- {f}" for f in failures))
    report("bench/load.py", sys.argv[1:], parts, args)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
