# Worked example of mala-ts forces through ASE (issue 16): see examples/forces/README.md.
# Included by the top-level Makefile. ASE's SocketIOCalculator starts `mala-ts pw --ipi` once and
# drives every step over the i-PI socket (the model is loaded once). Needs ASE (Debian's
# python3-ase: /usr/bin/python3, or set MALA_TS_PYTHON).
#
#   make forces-relax   BFGS of a 31-atom fcc Al vacancy cell to fmax 0.05 eV/Å (at most
#                       FEX_RELAX_STEPS steps; exits 1 when not converged)
#                       → $(FEX_OUT)/relax/relax.json, relax.traj
#   make forces-nve     VelocityVerlet NVE of the 4-atom 298 K example, dt 2 fs, FEX_NVE_STEPS steps;
#                       energy drift → $(FEX_OUT)/nve/nve.json, nve.csv, nve.svg/.png

MALA_TS_PYTHON  ?= /usr/bin/python3
FEX_OUT         ?= .cache/forces-example
FEX_RELAX_STEPS ?= 60
FEX_NVE_STEPS   ?= 300

.PHONY: forces-relax forces-nve

forces-relax:
	$(MALA_TS_PYTHON) examples/forces/relax_vacancy.py --out $(FEX_OUT)/relax --max-steps $(FEX_RELAX_STEPS)

forces-nve:
	$(MALA_TS_PYTHON) examples/forces/nve.py --out $(FEX_OUT)/nve --steps $(FEX_NVE_STEPS)
