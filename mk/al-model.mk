# Aluminium model: training data from our own QE runs, the shipped model, size transfer.
# Included by the top-level Makefile. Every step resumes: rerunning after an interruption redoes
# only unfinished work (mala-ts generate keeps per-stage stamps in $(AL_DATA)/.work/).
#
#   make al-regenerate      everything from scratch (MD frames, QE data, model, QE reference of the
#                           32-atom cell, evaluation); times recorded in models/al-fcc-298K/RECIPE.md.
#                           To time it without touching the shipped files:
#                           make al-regenerate AL_CACHE=/tmp/al AL_MODEL=/tmp/al/model.zip AL_REF=/tmp/al/ref AL_EVAL=/tmp/al/eval.json
#   make al-data            MD frames + QE SCF/LDOS + descriptors: 12 four-atom cells (train/validation/held-out)
#                           and 4 eight-atom cells (train)
#   make al-model           train models/al-fcc-298K/model.zip from al-data
#   make al-domain          record the model's training domain (descriptor statistics, density, T, ecutrho,
#                           smearing, grid) from the training frames; the weights stay byte-identical
#   make al-reference       QE SCF of the 32-atom cell → fixtures/al-size-transfer/qe-reference.json
#   make al-eval            held-out and size-transfer errors, QE vs mala-ts wall time
#   make al-validation      the validation table models/al-fcc-298K/VALIDATION.json (mala-ts test on the
#                           held-out Al4_298K_6, _7 and two 8-atom frames made after training, Al8X_298K_0, _1)
#   make al-activation      experiment (issue 16): the same training with each of AL_ACTIVATIONS and seeds
#                           AL_ACT_SEEDS, then bench/al-forces.ts on each (forces against QE on the
#                           fixtures/al-forces frames and the 32-atom one): does a smooth activation give
#                           better forces? Models and JSON under $(AL_CACHE)/activation/

AL_CACHE  ?= .cache/al-fcc-298K
AL_INPUTS := $(AL_CACHE)/inputs
AL_DATA   := $(AL_CACHE)/data
AL_NP     ?= 2
AL_GRID   := -4,0.1,131
AL_SIGMA  := 0.1
AL_TRAIN  := 0 1 2 3 4 8 9 10 11
AL_VALID  := 5
AL_TEST   := 6 7
AL8       := 0 1 2 3
AL8X      := 0 1
AL_PSEUDO ?= /usr/share/espresso/pseudo
AL_VALIDATION ?= models/al-fcc-298K/VALIDATION.json
MALA_TS   := node bin/mala-ts.js
AL_MODEL  ?= models/al-fcc-298K/model.zip
AL_REF    ?= fixtures/al-size-transfer
AL_EVAL   ?= models/al-fcc-298K/evaluation.json
comma     := ,

.PHONY: al-activation al-regenerate al-data al-frames al-model al-domain al-reference al-eval al-validation-data al-validation

al-frames:
	$(MALA_TS) sample --qe-template qe-inputs/al-fcc-298K.pw.scf.in --out $(AL_INPUTS) --prefix Al4_298K --frames 12 --seed 4928459
	$(MALA_TS) sample --qe-template qe-inputs/al-fcc-298K.pw.scf.in --out $(AL_INPUTS) --prefix Al8_298K --supercell 2x1x1 --frames 4 --seed 3511
	$(MALA_TS) sample --qe-template qe-inputs/al-fcc-298K.pw.scf.in --out $(AL_INPUTS) --prefix Al32_298K --supercell 2x2x2 --frames 1 --seed 771 --nbnd 64

al-data: al-frames
	set -e; for i in $(AL_TRAIN) $(AL_VALID) $(AL_TEST); do \
	  $(MALA_TS) generate --qe-input $(AL_INPUTS)/Al4_298K_$$i.pw.scf.in --energy-grid=$(AL_GRID) --ldos-broadening $(AL_SIGMA) --np $(AL_NP) --out $(AL_DATA); \
	done; \
	for i in $(AL8); do \
	  $(MALA_TS) generate --qe-input $(AL_INPUTS)/Al8_298K_$$i.pw.scf.in --energy-grid=$(AL_GRID) --ldos-broadening $(AL_SIGMA) --np $(AL_NP) --out $(AL_DATA); \
	done

al-model: al-data
	npx tsx bench/al-train.ts --data $(AL_DATA) --out $(AL_MODEL)

al-domain: al-frames
	$(MALA_TS) model-domain --model $(AL_MODEL) --structures $(foreach i,$(AL_TRAIN),$(AL_INPUTS)/Al4_298K_$(i).pw.scf.in) $(foreach i,$(AL8),$(AL_INPUTS)/Al8_298K_$(i).pw.scf.in)

al-reference: al-frames
	npx tsx bench/al-size-transfer-reference.ts --qe-input $(AL_INPUTS)/Al32_298K_0.pw.scf.in --np $(AL_NP) --work $(AL_CACHE)/al32-ref --out $(AL_REF)

al-eval:
	npx tsx bench/al-eval.ts --model $(AL_MODEL) --data $(AL_DATA) --reference $(AL_REF) --out $(AL_EVAL)

# 8-atom frames that no training saw (another LAMMPS seed), for the validation table
al-validation-data: al-data
	$(MALA_TS) sample --qe-template qe-inputs/al-fcc-298K.pw.scf.in --out $(AL_INPUTS) --prefix Al8X_298K --supercell 2x1x1 --frames 8 --seed 3512
	set -e; for i in $(AL8X); do \
	  $(MALA_TS) generate --qe-input $(AL_INPUTS)/Al8X_298K_$$i.pw.scf.in --energy-grid=$(AL_GRID) --ldos-broadening $(AL_SIGMA) --np $(AL_NP) --out $(AL_DATA); \
	done

al-validation: al-validation-data
	$(MALA_TS) test --model $(AL_MODEL) --data $(AL_DATA) \
	  --snapshots $(subst $(eval) ,$(comma),$(foreach i,$(AL_TEST),Al4_298K_$(i)) $(foreach i,$(AL8X),Al8X_298K_$(i))) \
	  --pseudo-dir $(AL_PSEUDO) --forces --json --out $(AL_VALIDATION)

al-regenerate:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory al-model al-domain al-reference al-eval && \
	echo "al-regenerate: $$(( $$(date +%s) - start )) s wall"

AL_ACTIVATIONS ?= LeakyReLU Tanh
AL_ACT_SEEDS   ?= 1 2 3
al-activation: al-data
	@set -e; for s in $(AL_ACT_SEEDS); do for a in $(AL_ACTIVATIONS); do d=$(AL_CACHE)/activation/$$a-s$$s; mkdir -p $$d; \
	  [ -f $$d/model.zip ] || npx tsx bench/al-train.ts --data $(AL_DATA) --out $$d/model.zip --seed $$s --activation $$a > $$d/train.log; \
	  npx tsx bench/al-forces.ts --model $$d/model.zip --repeats 1 --cost-frames Al4_298K_6 --out $$d/forces.json | sed -n '5,9p' | sed "s|^ *|$$a seed $$s: |"; \
	done; done
