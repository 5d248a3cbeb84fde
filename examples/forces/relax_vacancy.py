#!/usr/bin/env python3
"""ASE BFGS relaxation of an aluminium vacancy cell with mala-ts forces over the i-PI socket.

2x2x2 conventional fcc Al (a = 4.05 Å, 32 sites), one atom removed (31 atoms), the vacancy's 12
nearest neighbours displaced at random (seeded), then BFGS to fmax (default 0.05 eV/Å) or
--max-steps. Writes OUT/relax.traj (every step), OUT/relax.json (per-step energy, fmax, wall time,
domain warnings) and keeps mala-ts' own log (OUT/espresso.pwo, .err).

    /usr/bin/python3 examples/forces/relax_vacancy.py --out .cache/forces-example/relax
"""
import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def vacancy_cell(a, displacement, seed):
    import numpy as np
    from ase.build import bulk

    atoms = bulk('Al', 'fcc', a=a, cubic=True).repeat((2, 2, 2))
    vacancy_site = atoms.positions[0].copy()
    del atoms[0]
    # distances of every atom to the removed site, minimum image
    from ase.geometry import get_distances
    _, dist = get_distances(atoms.positions, [vacancy_site], cell=atoms.cell, pbc=True)
    neighbours = [i for i in range(len(atoms)) if dist[i, 0] < 0.75 * a]  # first shell: a/√2 = 2.86 Å
    rng = np.random.default_rng(seed)
    atoms.positions[neighbours] += rng.normal(0.0, displacement, (len(neighbours), 3))
    return atoms, neighbours


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=os.path.join(common.REPO, '.cache', 'forces-example', 'relax'))
    p.add_argument('--model', default=common.DEFAULT_MODEL)
    p.add_argument('--max-steps', type=int, default=60)
    p.add_argument('--fmax', type=float, default=0.05, help='eV/Å')
    p.add_argument('--a', type=float, default=4.05, help='lattice constant, Å')
    p.add_argument('--displacement', type=float, default=0.05, help='σ of the neighbours\' random displacement, Å')
    p.add_argument('--seed', type=int, default=16)
    args = p.parse_args()
    common.check_ase()
    import numpy as np
    from ase.io.trajectory import Trajectory
    from ase.optimize import BFGS

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    atoms, neighbours = vacancy_cell(args.a, args.displacement, args.seed)
    # k-points: the training cells' density (8x8x8 per 4.05 Å); mala-ts ignores them, pw.x would not
    calc = common.socket_calculator(out, args.model, nbnd=3 * len(atoms), kpts=(4, 4, 4),
                                    socket_name=f'mala-ts-relax-{os.getpid()}')
    steps = []
    t_last = [time.time()]
    t0 = t_last[0]
    warnings_before = [0]

    def record():
        now = time.time()
        f = atoms.get_forces()
        w = common.count_domain_warnings(out)
        steps.append({
            'step': len(steps),
            'energy_ev': float(atoms.get_potential_energy()),
            'fmax_ev_per_a': float((f ** 2).sum(axis=1).max() ** 0.5),
            'wall_s': round(now - t_last[0], 2),
            'domain_warnings': w - warnings_before[0],
            'min_distance_a': float(atoms.get_all_distances(mic=True)[np.triu_indices(len(atoms), 1)].min()),
        })
        warnings_before[0] = w
        t_last[0] = now
        s = steps[-1]
        print(f"step {s['step']:3d}  E = {s['energy_ev']:.6f} eV  fmax = {s['fmax_ev_per_a']:.4f} eV/Å  "
              f"min distance {s['min_distance_a']:.3f} Å  "
              f"{s['wall_s']:.1f} s  domain warnings {s['domain_warnings']}", flush=True)
        summary(converged=None)

    def summary(converged, stop_reason=None):
        with open(os.path.join(out, 'relax.json.part'), 'w') as f:
            json.dump({
                'structure': f'fcc Al 2x2x2 conventional, a = {args.a} Å, one vacancy ({len(atoms)} atoms); '
                             f'{len(neighbours)} neighbours displaced, σ = {args.displacement} Å, seed {args.seed}',
                'model': os.path.relpath(args.model, common.REPO),
                'optimizer': 'ase.optimize.BFGS', 'fmax_target_ev_per_a': args.fmax, 'max_steps': args.max_steps,
                'converged': converged,
                'stop_reason': stop_reason, 'mala_ts_error': common.last_error(out),
                'steps_taken': len(steps) - 1,
                'total_wall_s': round(time.time() - t0, 1),
                'domain_warnings_total': common.count_domain_warnings(out),
                'energy_change_ev': steps[-1]['energy_ev'] - steps[0]['energy_ev'] if steps else None,
                'steps': steps,
            }, f, indent=1)
        os.replace(os.path.join(out, 'relax.json.part'), os.path.join(out, 'relax.json'))

    with calc:
        atoms.calc = calc
        traj = Trajectory(os.path.join(out, 'relax.traj'), 'w', atoms)
        opt = BFGS(atoms, logfile=os.path.join(out, 'bfgs.log'))
        opt.attach(traj.write, interval=1)
        opt.attach(record, interval=1)
        # interrupted (Ctrl-C, SIGTERM) or mala-ts stopped: the summary of the steps done is still written
        result, stop_reason = common.run_guarded(lambda: bool(opt.run(fmax=args.fmax, steps=args.max_steps)))
        traj.close()
    converged = bool(result)
    summary(converged, stop_reason=stop_reason)
    print(f"{'converged' if converged else f'STOPPED ({stop_reason}), not converged' if stop_reason else 'NOT converged'} after {len(steps) - 1} BFGS steps; "
          f"{common.count_domain_warnings(out)} domain warnings; {out}/relax.json")
    return 0 if converged else 1


if __name__ == '__main__':
    sys.exit(main())
