"""compose.yaml and docker/*.Dockerfile, checked without a container engine.

- compose.yaml, interpolated the way Compose does it (with stand-ins for the required
  secrets), is valid against the Compose Specification's JSON schema. The schema comes from
  the pinned `check-jsonschema` test dependency, which vendors the compose-spec project's
  `compose-spec.json` (Apache-2.0) as its built-in schema `vendor.compose-spec`.
- Every `swescribe ...` a container runs is a real command of the click group, with real options.
- The deployment rules: secrets have no defaults, every variable is documented, images build
  from Dockerfiles that exist, each service is health-checked or a one-shot, the GPU worker
  holds exactly one NVIDIA GPU, Redis persists with AOF, authentication is never switched off.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
from functools import lru_cache
from importlib import resources
from pathlib import Path

import click
import jsonschema
import pytest
from ruamel.yaml import YAML

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "compose.yaml"
DEPLOYMENT_DOC = REPO_ROOT / "docs" / "deployment.md"
DOCKERFILES = sorted((REPO_ROOT / "docker").glob("*.Dockerfile"))

GPU_WORKER = "worker-gpu"
# Variables that hold credentials: each must be required (${VAR:?...}), never defaulted.
# TOKEN(?!S): a token is a credential (HF_TOKEN); a count of tokens (SWESCRIBE_LLM_CONTEXT_TOKENS) is not.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|API_KEY|TOKEN(?!S)")


# --- loading and interpolation -------------------------------------------------------------


def load_yaml(text: str):
    """YAML 1.2, like Compose (so `yes`/`no` stay strings), with `<<` merge keys resolved."""
    return YAML(typ="safe", pure=True).load(text)


# $$ (a literal $), ${NAME}, ${NAME<op>arg} with op one of :- - :? ? :+ +, and $NAME.
_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(Exception):
    """A ${NAME:?message} or ${NAME?message} variable that is not set."""


def interpolate_string(value: str, env: dict[str, str]) -> str:
    """Compose's variable substitution for one string (nested defaults are not supported)."""

    def substitute(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        op, arg = match["op"], match["arg"] or ""
        if "$" in arg:
            raise AssertionError(f"nested interpolation in {match[0]!r}: this test does not resolve it")
        is_set = name in env
        is_nonempty = bool(env.get(name))
        if op in (":?", "?"):
            if not (is_nonempty if op == ":?" else is_set):
                raise MissingVariable(f"{name}: {arg}")
            return env[name]
        if op in (":-", "-"):
            return env[name] if (is_nonempty if op == ":-" else is_set) else arg
        if op in (":+", "+"):
            return arg if (is_nonempty if op == ":+" else is_set) else ""
        return env.get(name, "")

    result = _INTERPOLATION.sub(substitute, value)
    # A "${" that the pattern did not take is malformed; Compose rejects it too.
    leftover = _INTERPOLATION.sub("", value)
    if "${" in leftover:
        raise AssertionError(f"malformed interpolation in {value!r}")
    return result


def interpolate(node, env: dict[str, str]):
    """Substitute variables in every string value (Compose leaves keys alone)."""
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, str):
        return interpolate_string(node, env)
    return node


def string_values(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from string_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from string_values(item)
    elif isinstance(node, str):
        yield node


def variable_references(raw: dict) -> list[tuple[str, str | None]]:
    """(name, operator) for every ${...} and $NAME in the file's values."""
    found = []
    for value in string_values(raw):
        for match in _INTERPOLATION.finditer(value):
            if not match["escaped"]:
                found.append((match["braced"] or match["named"], match["op"]))
    return found


def passthrough_variables(raw: dict) -> set[str]:
    """Environment keys given no value: Compose copies them from .env or the shell, if set."""
    names = set()
    for service in raw["services"].values():
        env = service.get("environment") or {}
        if isinstance(env, dict):
            names.update(key for key, value in env.items() if value is None)
        else:
            names.update(item for item in env if "=" not in item)
    return names


@lru_cache
def raw_compose() -> dict:
    return load_yaml(COMPOSE_FILE.read_text(encoding="utf-8"))


def required_variables() -> set[str]:
    return {name for name, op in variable_references(raw_compose()) if op in (":?", "?")}


@lru_cache
def compose() -> dict:
    """compose.yaml as `docker compose config` would see it with a .env of stand-in secrets."""
    env = {name: f"test-{name.lower().replace('_', '-')}" for name in required_variables()}
    return interpolate(raw_compose(), env)


def services() -> dict[str, dict]:
    return compose()["services"]


def as_argv(value) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(item) for item in value]


def environment(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return dict(env)
    return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)


# --- the schema ------------------------------------------------------------------------------


def compose_spec_schema() -> dict:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads((vendor / "compose-spec.json").read_text(encoding="utf-8"))


def test_compose_file_is_valid_against_the_compose_specification():
    schema = compose_spec_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(compose()), key=lambda e: list(e.absolute_path))
    messages = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]
    assert not messages, "compose.yaml does not follow the Compose Specification:\n" + "\n".join(messages)


def test_schema_check_catches_a_broken_service():
    """The validation above is not vacuous: a misspelt key and a wrong type are rejected."""
    schema = compose_spec_schema()
    broken = {"services": {"api": {"imagee": "x", "ports": "8000:8000"}}}
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))
    reported = " ".join(str(e) for e in errors)
    assert errors and "imagee" in reported and "ports" in reported


def test_no_obsolete_version_key():
    assert "version" not in raw_compose(), "the Compose Specification has no top-level version:"


# --- variables and secrets -------------------------------------------------------------------


def test_missing_secrets_stop_compose_with_a_message():
    required = required_variables()
    assert {"POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "SWESCRIBE_S3_SECRET_ACCESS_KEY", "SWESCRIBE_LLM_API_KEY"} <= required
    with pytest.raises(MissingVariable):
        interpolate(raw_compose(), {})
    for name in required:
        env = {other: "x" for other in required if other != name}
        with pytest.raises(MissingVariable, match=name):
            interpolate(raw_compose(), env)


def test_secrets_have_no_default():
    # The Hugging Face token is optional (public models need none); it is the only exception.
    optional = {"SWESCRIBE_HF_TOKEN"}
    defaulted = sorted(
        {name for name, op in variable_references(raw_compose()) if SECRET_NAME.search(name) and op not in (":?", "?")} - optional
    )
    assert not defaulted, f"credentials with a default or no check: {defaulted}"


def test_every_variable_is_documented_for_operators():
    doc = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    names = {name for name, _ in variable_references(raw_compose())} | passthrough_variables(raw_compose())
    undocumented = sorted(name for name in names if not re.search(rf"\b{name}\b", doc))
    assert not undocumented, f"variables of compose.yaml missing from docs/deployment.md: {undocumented}"


def test_authentication_is_never_disabled():
    for name, service in services().items():
        assert "SWESCRIBE_AUTH_DISABLED" not in environment(service), f"{name} disables authentication"
        assert "env_file" not in service, f"{name}: an env_file could smuggle in SWESCRIBE_AUTH_DISABLED"
    for dockerfile in DOCKERFILES:
        assert "SWESCRIBE_AUTH_DISABLED" not in dockerfile.read_text(encoding="utf-8"), dockerfile.name


# --- the swescribe commands ------------------------------------------------------------------


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    logical, current = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):  # Docker drops comment lines, even inside a continuation
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            keyword, _, rest = current.strip().partition(" ")
            logical.append((keyword.upper(), rest.strip()))
        current = ""
    return logical


def swescribe_invocations() -> list[tuple[str, list[str]]]:
    """(where, argv after "swescribe") for every container command that runs swescribe."""
    found = []
    for name, service in services().items():
        argv = as_argv(service.get("entrypoint")) + as_argv(service.get("command"))
        if argv and Path(argv[0]).name == "swescribe":
            found.append((f"compose:{name}", argv[1:]))
    for dockerfile in DOCKERFILES:
        for keyword, rest in dockerfile_instructions(dockerfile):
            if keyword in ("CMD", "ENTRYPOINT") and rest.startswith("["):
                argv = json.loads(rest)
                if argv and Path(argv[0]).name == "swescribe":
                    found.append((f"{dockerfile.name}:{keyword}", argv[1:]))
    return found


def _option(command: click.Command, token: str) -> click.Option | None:
    name = token.split("=", 1)[0]
    for param in command.params:
        if isinstance(param, click.Option) and name in (*param.opts, *param.secondary_opts):
            return param
    return None


def _takes_value(option: click.Option, token: str) -> bool:
    return not (option.is_flag or option.count) and "=" not in token


def resolve_invocation(root: click.Group, args: list[str]) -> tuple[list[str], click.Command, list[str]]:
    """Walk args down the click tree: (command path, leaf command, the leaf's own args)."""
    command, path, rest = root, ["swescribe"], list(args)
    while isinstance(command, click.Group):
        i = 0
        while i < len(rest) and rest[i].startswith("-"):
            option = _option(command, rest[i])
            assert option is not None, f"`{' '.join(path)}` has no option {rest[i]!r}"
            i += 2 if _takes_value(option, rest[i]) else 1
        assert i < len(rest), f"`{' '.join(path)}` is a group: a subcommand is missing"
        ctx = click.Context(command, info_name=path[-1])
        sub = command.get_command(ctx, rest[i])
        assert sub is not None, (
            f"`{' '.join(path)}` has no subcommand {rest[i]!r} (it has: {', '.join(command.list_commands(ctx))})"
        )
        command, path, rest = sub, [*path, rest[i]], rest[i + 1 :]
    return path, command, rest


def _invocation_id(invocation) -> str:
    return invocation[0]


@pytest.mark.parametrize("invocation", swescribe_invocations(), ids=_invocation_id)
def test_container_commands_are_real_swescribe_commands(invocation):
    from workers.commands.cli import main

    where, args = invocation
    try:
        path, command, rest = resolve_invocation(main, args)
    except AssertionError as e:
        pytest.fail(f"{where}: {e}")
    for token in rest:
        if token.startswith("--"):
            assert _option(command, token) is not None, (
                f"{where}: `{' '.join(path)}` has no option {token.split('=', 1)[0]!r} "
                f"(it has: {', '.join(o for p in command.params for o in p.opts if o.startswith('--'))})"
            )
    # Let click parse the arguments too: value types, choices, missing arguments.
    try:
        command.make_context(" ".join(path), list(rest))
    except click.ClickException as e:
        pytest.fail(f"{where}: `{' '.join(path)} {' '.join(rest)}`: {e.format_message()}")


def test_the_expected_commands_are_run():
    invocations = {where: args for where, args in swescribe_invocations()}
    assert invocations["compose:api"][:1] == ["api"]
    assert invocations["compose:migrate"] == ["db", "upgrade"]
    assert invocations[f"compose:{GPU_WORKER}"][:3] == ["worker", "--queues", "gpu"]
    assert invocations["compose:worker-cpu"][:3] == ["worker", "--queues", "cpu"]


def test_worker_healthchecks_ping_their_own_node():
    """`inspect ping -d NODE` must name the node the worker registers as (--name, %h = hostname)."""
    assert importlib.util.find_spec("workers.tasks.celery_app") is not None, "celery -A workers.tasks.celery_app: no such module"
    workers = {
        where.removeprefix("compose:"): args
        for where, args in swescribe_invocations()
        if where.startswith("compose:") and args[:1] == ["worker"]
    }
    assert workers
    for name, args in workers.items():
        assert "--name" in args, f"{name}: give the node a --name so its healthcheck can ping it"
        node = args[args.index("--name") + 1].replace("%h", "$HOSTNAME")
        test = " ".join(as_argv(services()[name]["healthcheck"]["test"]))
        assert "celery -A workers.tasks.celery_app inspect ping" in test, f"{name}: {test}"
        assert f"-d {node} " in f"{test} ", f"{name}: healthcheck pings another node than {node}: {test}"


# --- images, health, ordering ----------------------------------------------------------------


def test_every_build_uses_a_dockerfile_that_exists():
    builds = {name: s["build"] for name, s in services().items() if "build" in s}
    assert builds, "no service builds an image"
    for name, build in builds.items():
        if isinstance(build, str):
            build = {"context": build}
        context = (REPO_ROOT / build.get("context", ".")).resolve()
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"


def test_images_run_as_a_regular_user():
    for dockerfile in DOCKERFILES:
        users = [rest for keyword, rest in dockerfile_instructions(dockerfile) if keyword == "USER"]
        assert users and users[-1].split(":")[0] not in ("root", "0"), f"{dockerfile.name} runs as root"


def test_worker_image_has_cuda_12_and_cudnn_9():
    """CTranslate2 4.x is built against CUDA 12 and cuDNN 9."""
    text = (REPO_ROOT / "docker" / "worker.Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^ARG CUDA_IMAGE=(\S+)", text, re.M)
    assert base, "worker.Dockerfile: ARG CUDA_IMAGE=<base image> expected"
    image = base[1]
    assert re.match(r"nvidia/cuda:12\.\d+(\.\d+)?-cudnn(9)?-runtime-", image), image


def test_dockerignore_keeps_secrets_and_local_state_out_of_builds():
    entries = set((REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".env", ".git", ".venv", "data", "out", "bench/results"} <= entries


def is_one_shot(service: dict) -> bool:
    return service.get("restart") == "no"


def test_every_service_is_health_checked_or_a_one_shot():
    for name, service in services().items():
        healthcheck = service.get("healthcheck") or {}
        checked = bool(healthcheck.get("test")) and not healthcheck.get("disable")
        assert checked or is_one_shot(service), f'{name}: no healthcheck and not a one-shot (restart: "no")'
        if not is_one_shot(service):
            assert service.get("restart") in ("always", "unless-stopped"), f"{name} is not restarted"


def test_dependencies_wait_for_conditions_that_can_be_met():
    all_services = services()
    for name, service in all_services.items():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        for target, spec in depends_on.items():
            assert target in all_services, f"{name} depends on unknown service {target}"
            condition = spec.get("condition", "service_started")
            dependency = all_services[target]
            if condition == "service_healthy":
                assert dependency.get("healthcheck"), f"{name} waits for {target} to be healthy: it has no healthcheck"
            if condition == "service_completed_successfully":
                assert is_one_shot(dependency), f"{name} waits for {target} to finish: it is not a one-shot"
            # A service outside every profile must not need one that only runs with a profile.
            if not service.get("profiles"):
                assert not dependency.get("profiles"), f"{name} depends on {target}, which is behind a profile"


def test_api_waits_for_its_backing_services_and_migrations():
    depends_on = services()["api"]["depends_on"]
    for backing in ("redis", "postgres", "minio"):
        assert depends_on[backing]["condition"] == "service_healthy"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


def nvidia_devices(service: dict) -> list[dict]:
    devices = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
    return [d for d in devices if d.get("driver") == "nvidia" or "gpu" in d.get("capabilities", [])]


def gpu_ids(device: dict) -> list[str]:
    """The GPUs a reservation gets: Docker maps `count: N` to the first N GPUs."""
    if "device_ids" in device:
        return [str(i) for i in device["device_ids"]]
    return [str(i) for i in range(int(device["count"]))]


def gpu_worker_services() -> list[str]:
    return sorted(
        where.removeprefix("compose:")
        for where, args in swescribe_invocations()
        if where.startswith("compose:") and args[:3] == ["worker", "--queues", "gpu"]
    )


def test_each_gpu_worker_holds_exactly_one_nvidia_gpu():
    assert GPU_WORKER in gpu_worker_services()
    for name in gpu_worker_services():
        devices = nvidia_devices(services()[name])
        assert len(devices) == 1, f"{name}: {devices}"
        device = devices[0]
        assert device["driver"] == "nvidia" and "gpu" in device["capabilities"], f"{name}: {device}"
        assert len(gpu_ids(device)) == 1, f"{name} reserves {gpu_ids(device)}: one GPU per worker"


def test_no_two_services_get_the_same_gpu_by_default():
    """Two count-1 reservations would both get GPU 0: the defaults must keep them apart."""
    owners: dict[str, str] = {}
    for name, service in services().items():
        for device in nvidia_devices(service):
            for gpu in gpu_ids(device):
                assert gpu not in owners, f"GPU {gpu} is reserved by both {owners[gpu]} and {name}"
                owners[gpu] = name


def duration_s(text: str) -> float:
    """A Compose duration ("10m", "1m30s", "600s") in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|m|s)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a duration: {text!r}"
    return sum(float(n) * units[u] for n, u in parts)


def test_gpu_worker_gets_time_to_finish_its_job_on_stop():
    """acks_late: a worker killed mid-job has that job redone from the start."""
    assert duration_s(services()[GPU_WORKER]["stop_grace_period"]) >= 5 * 60


def test_gpu_worker_uses_kb_whisper_large_and_the_model_volume():
    service = services()[GPU_WORKER]
    env = environment(service)
    assert env["SWESCRIBE_ASR_MODEL"] == "kb-whisper-large"
    assert env["HF_HOME"].startswith("/models")
    assert any(str(v).split(":")[1] == "/models" for v in service["volumes"])


def test_api_and_workers_agree_on_the_speech_model():
    """The API records the model a job asks for; the worker must load that same model."""
    names = [where.removeprefix("compose:") for where, _ in swescribe_invocations() if where.startswith("compose:")]
    models = {name: environment(services()[name]).get("SWESCRIBE_ASR_MODEL") for name in names}
    assert len(set(models.values())) == 1, models


def test_redis_persists_the_queue_with_aof():
    redis = services()["redis"]
    argv = as_argv(redis.get("command"))
    options = dict(zip(argv[1::2], argv[2::2]))
    assert options.get("--appendonly") == "yes", f"redis: no append-only file: {argv}"
    assert options.get("--appendfsync") == "everysec", f"redis: fsync the AOF every second: {argv}"
    assert any(str(v).split(":")[1] == "/data" for v in redis["volumes"]), "redis: /data is not on a volume"


def test_local_llm_is_optional():
    vllm = services()["vllm"]
    assert vllm.get("profiles") == ["llm"]
    argv = as_argv(vllm.get("entrypoint")) + as_argv(vllm.get("command"))
    for flag in ("--tokenizer-mode", "--config-format", "--load-format"):
        assert argv[argv.index(flag) + 1] == "mistral", flag
    assert len(nvidia_devices(vllm)) == 1


def test_only_the_api_port_is_published():
    published = sorted(name for name, s in services().items() if s.get("ports"))
    assert published == ["api"]


def test_interpolation_follows_compose_rules():
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate_string("$$HOSTNAME ${SET} $SET", env) == "$HOSTNAME v v"
    assert interpolate_string("${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d}", env) == "d d  d"
    assert interpolate_string("${SET:+a} ${EMPTY:+a} ${EMPTY+a}", env) == "a  a"
    with pytest.raises(MissingVariable, match="EMPTY: say so"):
        interpolate_string("${EMPTY:?say so}", env)
    assert interpolate_string("${EMPTY?say so}", env) == ""
    with pytest.raises(AssertionError):
        interpolate_string("${not valid}", env)
