# Aluminium model: training data from our own QE runs, the shipped model, size transfer.
# Included by the top-level Makefile. Every step resumes: rerunning after an interruption redoes
# only unfinished work (mala-ts generate keeps per-stage stamps in $(AL_DATA)/.work/).
#
#   make al-regenerate      everything from scratch (MD frames, QE data, model, QE reference of the
#                           32-atom cell, evaluation); times recorded in models/al-fcc-298K/RECIPE.md
#   make al-data            MD frames + QE SCF/LDOS + descriptors for the 8 training/held-out cells
#   make al-model           train models/al-fcc-298K/model.zip from al-data
#   make al-reference       QE SCF of the 32-atom cell → fixtures/al-size-transfer/qe-reference.json
#   make al-eval            held-out and size-transfer errors, QE vs mala-ts wall time

AL_CACHE  ?= .cache/al-fcc-298K
AL_INPUTS := $(AL_CACHE)/inputs
AL_DATA   := $(AL_CACHE)/data
AL_NP     ?= 2
AL_GRID   := -4,0.1,131
AL_SIGMA  := 0.1
AL_TRAIN  := 0 1 2 3 4 5
AL_TEST   := 6 7
MALA_TS   := node bin/mala-ts.js
AL_MODEL  := models/al-fcc-298K/model.zip

.PHONY: al-regenerate al-data al-frames al-model al-reference al-eval

al-frames:
	$(MALA_TS) sample --qe-template qe-inputs/al-fcc-298K.pw.scf.in --out $(AL_INPUTS) --prefix Al4_298K --frames 8 --seed 4928459
	$(MALA_TS) sample --qe-template qe-inputs/al-fcc-298K.pw.scf.in --out $(AL_INPUTS) --prefix Al32_298K --supercell 2x2x2 --frames 1 --seed 771 --nbnd 64

al-data: al-frames
	set -e; for i in $(AL_TRAIN) $(AL_TEST); do \
	  $(MALA_TS) generate --qe-input $(AL_INPUTS)/Al4_298K_$$i.pw.scf.in --energy-grid=$(AL_GRID) --ldos-broadening $(AL_SIGMA) --np $(AL_NP) --out $(AL_DATA); \
	done

al-model: al-data
	npx tsx bench/al-train.ts --data $(AL_DATA) --out $(AL_MODEL)

al-reference: al-frames
	npx tsx bench/al-size-transfer-reference.ts --qe-input $(AL_INPUTS)/Al32_298K_0.pw.scf.in --np $(AL_NP) --out fixtures/al-size-transfer

al-eval:
	npx tsx bench/al-eval.ts --model $(AL_MODEL) --data $(AL_DATA) --reference fixtures/al-size-transfer

al-regenerate:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory al-model al-reference al-eval && \
	echo "al-regenerate: $$(( $$(date +%s) - start )) s wall"
