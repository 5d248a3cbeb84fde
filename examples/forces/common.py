"""Shared by relax_vacancy.py and nve.py: the ASE socket calculator that drives `mala-ts pw --ipi`.

ASE's Espresso calculator writes an ordinary pw.x input (PREFIX.pwi); SocketIOCalculator starts
the command once, and mala-ts loads the model once and serves every step over the i-PI socket
(pw.x's driver mode). stdout (pw.x's driver log) goes to PREFIX.pwo, warnings to PREFIX.err.
"""
import os
import shlex
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DEFAULT_MODEL = os.path.join(REPO, 'models', 'al-fcc-298K', 'model.zip')
PSEUDO_DIR = '/usr/share/espresso/pseudo'
DOMAIN_MARK = "outside the model's training domain"


def check_ase():
    try:
        import ase  # noqa: F401
        from ase.calculators.socketio import SocketIOCalculator  # noqa: F401
    except ImportError:
        sys.exit(f'{sys.executable} has no ASE; run with /usr/bin/python3 (Debian python3-ase) or set MALA_TS_PYTHON')


def socket_calculator(workdir, model, nbnd, kpts, socket_name):
    """SocketIOCalculator driving `node bin/mala-ts.js pw --ipi NAME:UNIX` with the training settings (RECIPE.md)."""
    from ase.calculators.espresso import Espresso
    from ase.calculators.socketio import SocketIOCalculator

    command = (f'node {shlex.quote(os.path.join(REPO, "bin", "mala-ts.js"))} pw --model {shlex.quote(model)} '
               '--ipi {unixsocket}:UNIX -in PREFIX.pwi > PREFIX.pwo 2> PREFIX.err')
    input_data = {
        'control': {'calculation': 'scf', 'tprnfor': True, 'pseudo_dir': PSEUDO_DIR},
        'system': {'ecutwfc': 20, 'ecutrho': 80, 'nbnd': nbnd, 'occupations': 'smearing',
                   'smearing': 'fermi-dirac', 'degauss': 0.0018874, 'nosym': True, 'noinv': True},
    }
    espresso = Espresso(command=command, label=os.path.join(workdir, 'espresso'),
                        pseudopotentials={'Al': 'Al.pz-vbc.UPF'}, input_data=input_data, kpts=kpts)
    return SocketIOCalculator(calc=espresso, unixsocket=socket_name)


def count_domain_warnings(workdir):
    """Domain warnings mala-ts has written to stderr so far (one line per finding)."""
    try:
        with open(os.path.join(workdir, 'espresso.err')) as f:
            return sum(DOMAIN_MARK in line for line in f)
    except FileNotFoundError:
        return 0


def run_guarded(run):
    """Run the optimiser/integrator and return (result, stop_reason). stop_reason is None when it
    ran to its end, 'interrupted' after Ctrl-C or SIGTERM, or 'calculator failed: ...' when mala-ts
    stopped (it exits on overlapping atoms, for example; its reason is the last line of
    OUT/espresso.err). Either way the caller still writes the summary of the steps done."""
    import signal

    def on_term(signum, frame):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        return run(), None
    except KeyboardInterrupt:
        print('interrupted: writing the summary of the steps done', file=sys.stderr)
        return None, 'interrupted'
    except Exception as e:  # SocketClosed and friends: the mala-ts process ended
        print(f'the calculator failed ({type(e).__name__}): writing the summary of the steps done', file=sys.stderr)
        return None, f'calculator failed: {type(e).__name__} {e}'.strip()
    finally:
        signal.signal(signal.SIGTERM, previous)


def last_error(workdir):
    """mala-ts' error line in OUT/espresso.err, if it stopped with one."""
    try:
        with open(os.path.join(workdir, 'espresso.err')) as f:
            errors = [line.strip() for line in f if line.startswith('mala-ts: error')]
        return errors[-1] if errors else None
    except FileNotFoundError:
        return None
