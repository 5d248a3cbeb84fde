# mala-ts: the two commands a new user needs are `make demo` and `make test`.
.PHONY: setup demo test typecheck doctor clean-cache

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	npx tsc --noEmit -p .
	npx mocha "test/**/*.test.ts"

typecheck:
	npx tsc --noEmit -p .

doctor:
	@node bin/mala-ts.js doctor

# Aluminium training data, shipped model and size-transfer checks (see mk/al-model.mk).
include mk/al-model.mk
# Broad fcc-aluminium training/validation data, 100–900 K, a = 3.97–4.13 Å (see mk/al-broad.mk).
include mk/al-broad.mk
