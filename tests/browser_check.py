"""The notebooks in a real browser: JupyterLab on 127.0.0.1 (random port, random token) in a throw-away folder,
driven by Playwright through the system Chromium (Debian's `chromium`; Playwright never downloads a browser).

It opens the reading-order page, the M²SE notebook (waits for MathJax to typeset its equations) and a report
notebook on its default parameters (the embedded sample), runs the report through the UI (Run → Run All
Cells), waits until every cell has run and its figure is shown, saves it (to the throw-away copy) and fails
on any error output. Screenshots go to --out. The server and its kernels are stopped whatever happens.

    .venv/bin/python tests/browser_check.py --out build/browser-check       # exit 0: passed, 1: failed

Not a pytest test (it needs Chromium and about a minute); `.ci/run` calls it when Chromium is there.
"""
import argparse, json, os, secrets, shutil, signal, socket, subprocess, sys, tempfile, time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KERNEL_NAME = f"msm4sr (Python {sys.version_info.major}.{sys.version_info.minor})"


def find_chromium(given=None):
    "The system Chromium: --chromium, $CHROMIUM, or `chromium` / `chromium-browser` on PATH (None if absent)."
    for c in (given, os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if c and Path(c).exists():
            return c
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(tmp: Path) -> dict:
    "A copy of the notebooks, the project kernel, quiet JupyterLab settings; returns the server's environment."
    root = tmp / "root"
    shutil.copytree(REPO / "nbs", root / "nbs", ignore=shutil.ignore_patterns("data", "reports", ".ipynb_*"))
    subprocess.run(
        [sys.executable, "-m", "ipykernel", "install", "--prefix", str(tmp / "jupyter"), "--name", "python3",
         "--display-name", KERNEL_NAME, "--env", "GLIBC_TUNABLES", "glibc.malloc.tcache_count=0"],
        check=True, capture_output=True,
    )
    # no news pop-up, and every cell rendered (not only those in view) so that all equations are typeset
    (tmp / "config" / "labconfig").mkdir(parents=True)
    (tmp / "config" / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    tracker = tmp / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    env = dict(os.environ)
    env.update(
        JUPYTER_PATH=str(tmp / "jupyter" / "share" / "jupyter"),  # the project kernel shadows plain python3
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
        HF_HUB_OFFLINE="1",
        MSM4SR_REPORTS=str(tmp / "reports"),
        MSM4SR_DATA=os.environ.get("MSM4SR_DATA") or str(tmp / "data"),
    )
    env.pop("MSM4SR_PROCESSED", None)
    return env


def start_server(tmp: Path, env: dict, port: int, token: str) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp / 'root'}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp / "server.log", "wb")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_server(proc: subprocess.Popen) -> None:
    "SIGTERM to the server's own process group (server + kernels), SIGKILL after 10 s."
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


def wait_ready(proc, base: str, token: str, timeout: float = 120) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {proc.returncode} before it answered")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s")


def check_listening_local(port: int) -> None:
    "The server listens on 127.0.0.1 only: nothing answers on the machine's other addresses at its port."
    try:
        others = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), port, socket.AF_INET)}
    except OSError:
        others = set()
    for ip in others - {"127.0.0.1"}:
        if not ip.startswith("127."):
            with socket.socket() as s:
                s.settimeout(1)
                if s.connect_ex((ip, port)) == 0:
                    raise RuntimeError(f"JupyterLab answers on {ip}:{port}, not only on 127.0.0.1")


def open_notebook(page, base, token, path, timeout_ms):
    page.goto(f"{base}/lab/tree/{path}?token={token}", timeout=timeout_ms)
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell", timeout=timeout_ms)
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    # the kernel: ours, started and idle
    page.wait_for_function(
        "() => { const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');"
        " const k = p && p.querySelector('.jp-KernelName');"
        " return k && k.textContent.trim() !== 'No Kernel'; }",
        timeout=timeout_ms,
    )
    hide_sidebar(page)
    return panel


def read_saved(path: Path, before: int, deadline: float) -> dict:
    """The notebook Jupyter saved at `path` after mtime `before`. Its save writes the file in place (truncate,
    then write), so a read just after the mtime moves can see an empty or partial file (seen: JSONDecodeError
    at char 0): read again until it parses or the deadline passes."""
    while True:
        if path.stat().st_mtime_ns != before:
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError:
                if time.time() >= deadline:
                    raise
        elif time.time() >= deadline:
            raise RuntimeError(f"{path.name} was not saved within the time allowed")
        time.sleep(0.2)


def hide_sidebar(page):
    "Close the left sidebar (file browser) for roomier screenshots."
    if page.locator("#jp-left-stack:not(.lm-mod-hidden)").count():
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").first.click()


def shoot(page, out: Path, name: str, shots: list):
    p = out / f"{name}.png"
    page.screenshot(path=str(p))
    shots.append(str(p))


def check(chromium: str, out: Path, report: str, timeout_s: float) -> dict:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    timings, shots, t0 = {}, [], time.time()
    tmp = Path(tempfile.mkdtemp(prefix="msm4sr-browser-"))
    proc = None
    try:
        env = prepare(tmp)
        port, token = free_port(), secrets.token_hex(24)
        base = f"http://127.0.0.1:{port}"
        proc = start_server(tmp, env, port, token)
        wait_ready(proc, base, token)
        check_listening_local(port)
        timings["server_ready_s"] = round(time.time() - t0, 1)
        ms = int(timeout_s * 1000)
        with sync_playwright() as pw:
            # as root (containers) Chromium's sandbox cannot start
            args = ["--no-sandbox"] if os.geteuid() == 0 else []
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=args)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))

                # 1. the reading order
                t = time.time()
                open_notebook(page, base, token, "nbs/00_read_first.ipynb", ms)
                page.wait_for_selector(".jp-RenderedMarkdown a[href*='16_model.ipynb']", timeout=ms)
                kernel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName").first.inner_text()
                if kernel.strip() != KERNEL_NAME:
                    raise RuntimeError(f"the notebook's kernel is {kernel!r}, expected {KERNEL_NAME!r}")
                page.wait_for_timeout(300)
                shoot(page, out, "lab_read_first", shots)
                timings["read_first_s"] = round(time.time() - t, 1)

                # 2. M²SE: wait for MathJax to typeset every display equation
                t = time.time()
                open_notebook(page, base, token, "nbs/16_model.ipynb", ms)
                src = json.loads((REPO / "nbs" / "16_model.ipynb").read_text())
                n_display = sum("".join(c["source"]).count("$$") // 2 for c in src["cells"]
                                if c["cell_type"] == "markdown")
                page.wait_for_function(
                    "n => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
                    "mjx-container[display=\"true\"]').length >= n", arg=n_display, timeout=ms)
                n_math = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) mjx-container").count()
                raw = page.evaluate(
                    "() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
                    ".jp-RenderedMarkdown')].filter(e => e.textContent.includes('$$')).length")
                if raw:
                    raise RuntimeError(f"{raw} markdown cell(s) of 16_model show raw $$ (MathJax did not run)")
                eq = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMarkdown h2",
                                  has_text="Attention fusion").first
                page.evaluate("e => e.scrollIntoView({block: 'start'})", eq.element_handle())
                page.wait_for_timeout(500)
                shoot(page, out, "lab_m2se_equations", shots)
                timings["m2se_s"] = round(time.time() - t, 1)

                # 3. a report notebook: Run → Run All Cells, through the menus
                t = time.time()
                nb_path = f"nbs/{report}.ipynb"
                open_notebook(page, base, token, nb_path, ms)
                page.wait_for_selector(
                    ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']",
                    timeout=ms)
                page.wait_for_function(  # the status bar says the kernel is idle (not "Connecting", "Starting")
                    "() => [...document.querySelectorAll('.jp-StatusBar-Widget')]"
                    ".some(e => e.textContent.includes('| Idle'))",
                    timeout=ms)
                started = ("() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
                           ".jp-CodeCell .jp-InputPrompt')].some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))")
                for attempt in range(3):  # Run → Run All Cells, until a cell has started
                    page.get_by_role("menuitem", name="Run", exact=True).click()
                    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
                    try:
                        page.wait_for_function(started, timeout=15_000)
                        break
                    except Exception:
                        page.keyboard.press("Escape")
                else:
                    raise RuntimeError("Run → Run All Cells started no cell (three tries)")
                cells = json.loads((REPO / nb_path).read_text())["cells"]
                n_code = sum(c["cell_type"] == "code" for c in cells)
                page.wait_for_function(
                    """n => { const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
                       const done = [...p.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                         .filter(e => /\\[\\d+\\]/.test(e.textContent)).length;
                       const st = p.querySelector('.jp-Notebook-ExecutionIndicator');
                       return done >= n && st && st.dataset.status === 'idle'; }""",
                    arg=n_code, timeout=ms)
                timings["report_run_s"] = round(time.time() - t, 1)
                img_sel = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedImage img"
                page.wait_for_selector(img_sel, timeout=ms)
                img = page.locator(img_sel).first
                page.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=img.element_handle(),
                                       timeout=ms)
                # save (the throw-away copy) and read the outputs back: any error output fails the check
                saved = tmp / "root" / nb_path
                before = saved.stat().st_mtime_ns
                page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
                page.locator(".lm-Menu-itemLabel", has_text="Save Notebook").first.click()
                nb = read_saved(saved, before, deadline=time.time() + 30)
                errs = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
                if errs:
                    raise RuntimeError(f"{report}: {errs[0]['ename']}: {errs[0]['evalue']}")
                n_png = sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
                if not n_png:
                    raise RuntimeError(f"{report}: no figure in the saved outputs")
                page.evaluate("e => e.scrollIntoView({block: 'end'})", img.element_handle())  # its table above
                page.wait_for_timeout(300)
                shoot(page, out, f"lab_{report}_run", shots)
                if errors:
                    print(f"browser check: {len(errors)} JavaScript error(s) in the page, first: {errors[0]}")
            except Exception:
                try:
                    page.screenshot(path=str(out / "failure.png"))
                except Exception:
                    pass
                raise
            finally:
                browser.close()
        res = dict(ok=True, report=report, kernel=KERNEL_NAME, equations=n_math, display_equations=n_display,
                   figures=n_png, screenshots=shots, timings=timings, seconds=round(time.time() - t0, 1))
        return res
    finally:
        if proc is not None:
            stop_server(proc)
        if (tmp / "server.log").exists():
            shutil.copy(tmp / "server.log", out / "server.log")
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="build/browser-check", help="folder for screenshots and result.json")
    ap.add_argument("--report", default="table1", help="report notebook run through the UI: nbs/<report>.ipynb")
    ap.add_argument("--chromium", default=None, help="Chromium executable (default: chromium on PATH)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds allowed for each wait in the browser")
    a = ap.parse_args(argv)
    chromium = find_chromium(a.chromium)
    if chromium is None:
        print("browser check skipped: no system Chromium (apt-get install chromium)")
        return 0
    out = Path(a.out)
    t0 = time.time()
    try:
        res = check(chromium, out, a.report, a.timeout)
    except Exception as e:  # one line, then the details kept in --out
        res = dict(ok=False, error=f"{type(e).__name__}: {e}", seconds=round(time.time() - t0, 1))
    (out / "result.json").write_text(json.dumps(res, indent=1) + "\n")
    if res["ok"]:
        print(f"browser check passed in {res['seconds']} s: {res['equations']} equations typeset in 16_model, "
              f"{res['report']} ran through the UI ({res['figures']} figure(s)); screenshots in {out}/")
        return 0
    print(f"browser check FAILED after {res['seconds']} s: {res['error']} (see {out}/: server.log, failure.png)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
