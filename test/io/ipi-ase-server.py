"""ASE's SocketIOCalculator as the i-PI server for test/io/ipi-client.test.ts.

Binds (UNIX socket /tmp/ipi_NAME, or TCP on a free port), prints 'LISTENING <address>' and waits
for the client; then runs BFGS or velocity Verlet steps and one strained cell through the
socket. For every evaluated configuration it records what came back through the socket and what
ASE's own LennardJones gives for the same atoms, and prints them as JSON on its last line.
"""
import json
import sys

import numpy as np
from ase import Atoms, units
from ase.calculators.lj import LennardJones
from ase.calculators.socketio import SocketIOCalculator
from ase.md.verlet import VelocityVerlet
from ase.optimize import BFGS

args = json.loads(sys.argv[1])
lj = dict(sigma=args['sigma'], epsilon=args['epsilon'], rc=args['rc'])
atoms = Atoms(args['symbols'], positions=args['positions'], cell=args['cell'], pbc=True)
where = dict(unixsocket=args['unix']) if args.get('unix') else dict(port=0)
records = []

with SocketIOCalculator(timeout=60, **where) as calc:
    if args.get('unix'):
        print('LISTENING {}:UNIX'.format(args['unix']), flush=True)
    else:
        print('LISTENING localhost:{}'.format(calc.server.serversocket.getsockname()[1]), flush=True)
    atoms.calc = calc

    def record():
        ref = atoms.copy()
        ref.calc = LennardJones(**lj)
        records.append(dict(
            cell=atoms.cell.tolist(), positions=atoms.positions.tolist(),
            energy=atoms.get_potential_energy(), forces=atoms.get_forces().tolist(),
            stress=atoms.get_stress().tolist(),
            ref_energy=ref.get_potential_energy(), ref_forces=ref.get_forces().tolist(),
            ref_stress=ref.get_stress().tolist()))

    if args['run'] == 'bfgs':
        opt = BFGS(atoms, logfile=None)
        opt.attach(record)
        opt.run(fmax=1e-6, steps=args['steps'])
    else:
        atoms.set_momenta(np.array(args['momenta']))
        md = VelocityVerlet(atoms, 2 * units.fs, logfile=None)
        md.attach(record)
        md.run(args['steps'])
    # a changed cell (strained, atoms moved with it) through the same connection
    strain = np.array([[1.02, 0.01, 0.0], [0.0, 0.99, 0.02], [0.01, 0.0, 1.01]])
    atoms.set_cell(np.dot(atoms.cell, strain), scale_atoms=True)
    record()
    if args.get('exit'):
        calc.server.protocol.end()  # i-PI's EXIT; ASE itself just closes the socket

print(json.dumps(records))
