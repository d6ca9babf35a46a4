# envshim developer recipes (https://just.systems). Every recipe uses the project venv.

venv := ".venv"
py := venv / "bin/python"

# create the venv with envshim (editable) and the test tools
setup:
    test -x {{py}} || python3 -m venv {{venv}}
    {{py}} -m pip install -q -e '.[test]'

# the whole test suite (set ENVSHIM_REQUIRE_TOOLS=1 to fail instead of skipping on a missing tool)
test *ARGS: setup
    {{py}} -m pytest -q {{ARGS}}

# ruff lint and format check
lint: setup
    {{py}} -m ruff check src tests bench
    {{py}} -m ruff format --check src tests bench

# benchmarks: envshim beside mise and direnv on the same inputs
bench: setup
    for f in bench/bench_*.py; do {{py}} "$f"; done

# the self-contained walk-through
demo: setup
    {{venv}}/bin/envshim demo

# what CI runs (installs the real tools; needs root for apt-get)
ci:
    bash .ci/run
