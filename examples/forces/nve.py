#!/usr/bin/env python3
"""NVE molecular dynamics of a small aluminium cell with mala-ts forces over the i-PI socket.

ASE VelocityVerlet (dt 2 fs by default) from a 298 K EAM frame (an unchanged pw.x input) with
Maxwell-Boltzmann velocities at 298 K (seeded, no centre-of-mass motion). The model is loaded
once; every step is one energy + forces evaluation. Reports the total-energy drift:

  max |E_tot(t) - E_tot(0)|  (meV/atom)  and the slope of a least-squares line through
  E_tot(t) (meV/atom/ps), in OUT/nve.json; the energies per step in OUT/nve.csv; the plot in
  OUT/nve.svg (and .png).

    /usr/bin/python3 examples/forces/nve.py --out .cache/forces-example/nve
"""
import argparse
import csv
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def linear_slope(x, y):
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / sxx if sxx > 0 else 0.0


def plot(rows, path_base, title):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    t = [r['time_ps'] for r in rows]
    n = rows[0]['atoms']
    e0, p0 = rows[0]['etot_ev'], rows[0]['epot_ev']
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    ax1.plot(t, [1000 * (r['etot_ev'] - e0) / n for r in rows], label='E_tot − E_tot(0)')
    ax1.plot(t, [1000 * (r['epot_ev'] - p0) / n for r in rows], label='E_pot − E_pot(0)', alpha=0.6)
    ax1.plot(t, [1000 * r['ekin_ev'] / n for r in rows], label='E_kin', alpha=0.6)
    ax1.set_ylabel('energy (meV/atom)')
    ax1.legend(fontsize=8)
    ax1.set_title(title, fontsize=9)
    ax2.plot(t, [r['temperature_k'] for r in rows], color='tab:red')
    ax2.set_ylabel('temperature (K)')
    ax2.set_xlabel('time (ps)')
    fig.tight_layout()
    files = []
    for ext in ('svg', 'png'):
        fig.savefig(f'{path_base}.{ext}', dpi=120)
        files.append(f'{path_base}.{ext}')
    plt.close(fig)
    return files


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=os.path.join(common.REPO, '.cache', 'forces-example', 'nve'))
    p.add_argument('--model', default=common.DEFAULT_MODEL)
    p.add_argument('--structure', default=os.path.join(common.REPO, 'examples', 'al4-298K.pw.scf.in'),
                   help='pw.x input of the starting frame (4-atom example; fixtures/al-forces/Al8F_298K_0.pw.scf.in for 8 atoms)')
    p.add_argument('--steps', type=int, default=300)
    p.add_argument('--dt-fs', type=float, default=2.0)
    p.add_argument('--temperature', type=float, default=298.0, help='K, Maxwell-Boltzmann velocities')
    p.add_argument('--seed', type=int, default=16)
    args = p.parse_args()
    common.check_ase()
    import numpy as np
    from ase import units
    from ase.io import read
    from ase.io.trajectory import Trajectory
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    from ase.md.verlet import VelocityVerlet

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    atoms = read(args.structure, format='espresso-in')
    n = len(atoms)
    MaxwellBoltzmannDistribution(atoms, temperature_K=args.temperature, rng=np.random.RandomState(args.seed))
    Stationary(atoms)
    # k-points as the training cells (8x8x8 per 4.05 Å); mala-ts ignores them, pw.x would not
    kpts = tuple(max(1, round(8 * 4.05 / L)) for L in atoms.cell.lengths())
    calc = common.socket_calculator(out, args.model, nbnd=3 * n, kpts=kpts,
                                    socket_name=f'mala-ts-nve-{os.getpid()}')
    rows = []
    min_distances = []
    t0 = time.time()
    t_last = [t0]
    title = (f'NVE, {os.path.basename(args.structure)} ({n} atoms), dt {args.dt_fs} fs, '
             f'MB {args.temperature:g} K seed {args.seed}, mala-ts forces')

    def record():
        now = time.time()
        epot = float(atoms.get_potential_energy())
        ekin = float(atoms.get_kinetic_energy())
        rows.append({'step': len(rows), 'time_ps': len(rows) * args.dt_fs / 1000, 'atoms': n,
                     'epot_ev': epot, 'ekin_ev': ekin, 'etot_ev': epot + ekin,
                     'temperature_k': float(atoms.get_temperature()), 'wall_s': round(now - t_last[0], 2)})
        t_last[0] = now
        min_distances.append(float(atoms.get_all_distances(mic=True)[np.triu_indices(n, 1)].min()))
        r = rows[-1]
        if r['step'] % 10 == 0:
            print(f"step {r['step']:4d}  t = {r['time_ps']:.3f} ps  E_tot = {r['etot_ev']:.6f} eV  "
                  f"E_pot = {r['epot_ev']:.6f} eV  T = {r['temperature_k']:.1f} K  {r['wall_s']:.1f} s/step", flush=True)
            report(final=False)

    def report(final, finished=False, stop_reason=None):
        e0 = rows[0]['etot_ev']
        t = [r['time_ps'] for r in rows]
        etot = [r['etot_ev'] for r in rows]
        step_walls = [r['wall_s'] for r in rows[1:]]
        summary = {
            'structure': os.path.relpath(args.structure, common.REPO), 'atoms': n,
            'model': os.path.relpath(args.model, common.REPO),
            'integrator': 'ase.md.verlet.VelocityVerlet (NVE)', 'dt_fs': args.dt_fs,
            'initial_velocities': f'Maxwell-Boltzmann {args.temperature} K, seed {args.seed}, Stationary',
            'steps_requested': args.steps, 'steps_done': len(rows) - 1, 'finished': finished,
            'stop_reason': stop_reason, 'mala_ts_error': common.last_error(out),
            'simulated_ps': t[-1],
            'etot_0_ev': e0,
            'max_abs_etot_drift_mev_per_atom': 1000 * max(abs(e - e0) for e in etot) / n,
            'linear_etot_drift_mev_per_atom_per_ps': 1000 * linear_slope(t, etot) / n if len(rows) > 2 else None,
            'epot_range_mev_per_atom': 1000 * (max(r['epot_ev'] for r in rows) - min(r['epot_ev'] for r in rows)) / n,
            'mean_temperature_k': sum(r['temperature_k'] for r in rows) / len(rows),
            'max_temperature_k': max(r['temperature_k'] for r in rows),
            # where a runaway starts: the first step whose |E_tot - E_tot(0)| exceeds 1 meV/atom
            'first_step_drift_over_1_mev_per_atom': next((r['step'] for r in rows if abs(r['etot_ev'] - e0) > 1e-3 * n), None),
            'min_distance_a_per_step': [round(d, 4) for d in min_distances],
            'domain_warnings_total': common.count_domain_warnings(out),
            'wall_s_total': round(time.time() - t0, 1),
            'wall_s_per_step_mean': round(sum(step_walls) / len(step_walls), 2) if step_walls else None,
            'files': {'csv': 'nve.csv', 'trajectory': 'nve.traj', 'plot': []},
        }
        with open(os.path.join(out, 'nve.csv'), 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)
        if final or len(rows) % 50 == 1:  # a plot of the run so far, in case it is stopped
            summary['files']['plot'] = [os.path.basename(x) for x in plot(rows, os.path.join(out, 'nve'), title)]
        with open(os.path.join(out, 'nve.json.part'), 'w') as f:
            json.dump(summary, f, indent=1)
        os.replace(os.path.join(out, 'nve.json.part'), os.path.join(out, 'nve.json'))
        return summary

    with calc:
        atoms.calc = calc
        traj = Trajectory(os.path.join(out, 'nve.traj'), 'w', atoms)
        md = VelocityVerlet(atoms, timestep=args.dt_fs * units.fs)
        md.attach(record, interval=1)
        md.attach(traj.write, interval=1)
        _, stop_reason = common.run_guarded(lambda: md.run(args.steps))
        traj.close()
    finished = stop_reason is None
    s = report(final=True, finished=finished, stop_reason=stop_reason)
    print(f"{'' if finished else f'STOPPED ({stop_reason}) after '}{s['steps_done']} steps ({s['simulated_ps']:.3f} ps): max |E_tot - E_tot(0)| = "
          f"{s['max_abs_etot_drift_mev_per_atom']:.3f} meV/atom, linear drift "
          f"{s['linear_etot_drift_mev_per_atom_per_ps']:.3f} meV/atom/ps; {out}/nve.json")
    return 0 if finished else 1


if __name__ == '__main__':
    sys.exit(main())
