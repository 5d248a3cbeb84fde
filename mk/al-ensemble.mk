# An ensemble of the shipped aluminium model (models/al-fcc-298K-ensemble, issue 18 item 4):
# the same recipe (bench/al-train.ts, data of mk/al-model.mk) with other seeds, combined with the
# shipped model (seed 1) by `mala-ts ensemble`. Each member resumes from its own checkpoint.
#
#   make al-ensemble        train the members (ALE_SEEDS) and write the ensemble archive
#   make al-ensemble-eval   σ against the true error on the held-out frames, the 1 %-strained
#                           frame (pw.x runs in ALE_CACHE/qe), and the cost against one model

ALE_CACHE ?= $(AL_CACHE)/ensemble
ALE_SEEDS ?= 2 3 4 5
ALE_MODEL ?= models/al-fcc-298K-ensemble/model.zip
ALE_EVAL  ?= models/al-fcc-298K-ensemble/evaluation.json

.PHONY: al-ensemble al-ensemble-eval

al-ensemble:
	set -e; for s in $(ALE_SEEDS); do \
	  mkdir -p $(ALE_CACHE)/seed$$s; \
	  [ -f $(ALE_CACHE)/seed$$s/model.zip ] || npx tsx bench/al-train.ts --data $(AL_DATA) --out $(ALE_CACHE)/seed$$s/model.zip --seed $$s; \
	done
	$(MALA_TS) ensemble --out $(ALE_MODEL) $(AL_MODEL) $(foreach s,$(ALE_SEEDS),$(ALE_CACHE)/seed$(s)/model.zip)

al-ensemble-eval:
	npx tsx bench/al-ensemble.ts --write-inputs $(ALE_CACHE)/qe
	set -e; cd $(ALE_CACHE)/qe; for f in al4-298K al4-strained-1pct; do \
	  [ -f $$f.pw.scf.out ] || { pw.x -in $$f.pw.scf.in > $$f.pw.scf.out.tmp && mv $$f.pw.scf.out.tmp $$f.pw.scf.out; }; \
	done
	npx tsx bench/al-ensemble.ts --single $(AL_MODEL) --ensemble $(ALE_MODEL) --data $(AL_DATA) --qe $(ALE_CACHE)/qe \
	  --cost-structure $(AL_REF)/Al32_298K_0.pw.scf.in --repeats 2 --out $(ALE_EVAL)
