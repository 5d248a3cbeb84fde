# mala-ts: the two commands a new user needs are `make demo` and `make test`.
.PHONY: setup build demo test typecheck doctor pack-check clean-cache

# setup ends with the (incremental, seconds when nothing changed) build of dist/, which the
# `mala-ts` bin runs while it is newer than the sources (else it runs them through tsx).
setup:
	@bash scripts/setup.sh
	@node scripts/build.js

build:
	@node scripts/build.js

demo: setup
	@bash scripts/demo.sh

# test = setup, with the type check of tests and benchmarks beside the build of dist/ (two cores,
# two compilers), then the suite.
test:
	@bash scripts/setup.sh
	@npx tsc --noEmit -p . & tsc_pid=$$!; node scripts/build.js; build_rc=$$?; wait $$tsc_pid; tsc_rc=$$?; \
	  [ $$tsc_rc -eq 0 ] || { echo "make test: the type check failed" >&2; exit $$tsc_rc; }; exit $$build_rc
	npx mocha "test/**/*.test.ts"

typecheck:
	npx tsc --noEmit -p .

doctor:
	@node bin/mala-ts.js doctor

# The npm package as a user gets it: pack, install into an empty project (builds the addons), use it.
pack-check:
	@bash scripts/pack-check.sh

# Aluminium training data, shipped model and size-transfer checks (see mk/al-model.mk).
include mk/al-model.mk
# Broad fcc-aluminium training/validation data, 100–900 K, a = 3.97–4.13 Å (see mk/al-broad.mk).
include mk/al-broad.mk
include mk/al-forces.mk
include mk/forces-example.mk
# An ensemble of the shipped Al model and its spread σ (see mk/al-ensemble.mk).
include mk/al-ensemble.mk
