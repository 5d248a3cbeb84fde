# QE forces of held-out aluminium MD frames, the reference of the force accuracy table (issue 16).
# Included by the top-level Makefile; resumable (a frame whose output ends with "JOB DONE" is kept).
#
#   make al-forces-reference   pw.x SCF + forces (tprnfor, from the template) of
#                              Al4_298K_6, _7 (the shipped model's held-out 4-atom frames, al-frames' seed)
#                              and two 8-atom frames of a seed the model never saw
#                              → fixtures/al-forces/<frame>.pw.scf.in / .pw.scf.out (verbosity 'low':
#                              the forces and energies are what is used, not every eigenvalue)
#   The 32-atom size-transfer frame's forces are in fixtures/al-size-transfer/pw.scf.out already.

ALF_CACHE  ?= .cache/al-forces
ALF_OUT    ?= fixtures/al-forces
ALF_FRAMES := Al4_298K_6 Al4_298K_7 Al8F_298K_0 Al8F_298K_1
ALF_NP     ?= 1

.PHONY: al-forces-reference

al-forces-reference:
	$(MALA_TS) sample --qe-template qe-inputs/al-fcc-298K.pw.scf.in --out $(ALF_CACHE)/inputs --prefix Al4_298K --frames 12 --seed 4928459
	$(MALA_TS) sample --qe-template qe-inputs/al-fcc-298K.pw.scf.in --out $(ALF_CACHE)/inputs --prefix Al8F_298K --supercell 2x1x1 --frames 2 --seed 6007
	mkdir -p $(ALF_OUT)
	set -e; for f in $(ALF_FRAMES); do \
	  if grep -qs 'JOB DONE' $(ALF_OUT)/$$f.pw.scf.out; then echo "$$f: done"; continue; fi; \
	  mkdir -p $(ALF_CACHE)/run-$$f; \
	  sed -e "s|^ *outdir *=.*|  outdir = './tmp'|" -e "s|^ *prefix *=.*|  prefix = '$$f'|" \
	      -e "s|^ *tstress *=.*|  tstress = .false.|" -e "s|^ *verbosity *=.*|  verbosity = 'low'|" $(ALF_CACHE)/inputs/$$f.pw.scf.in > $(ALF_OUT)/$$f.pw.scf.in; \
	  (cd $(ALF_CACHE)/run-$$f && mpirun --allow-run-as-root -np $(ALF_NP) pw.x -in $(CURDIR)/$(ALF_OUT)/$$f.pw.scf.in > pw.out.part 2>&1) \
	    && grep -q 'JOB DONE' $(ALF_CACHE)/run-$$f/pw.out.part && mv $(ALF_CACHE)/run-$$f/pw.out.part $(ALF_OUT)/$$f.pw.scf.out; \
	  rm -rf $(ALF_CACHE)/run-$$f/tmp; echo "$$f: $$(grep -m1 '^!' $(ALF_OUT)/$$f.pw.scf.out)"; \
	done
