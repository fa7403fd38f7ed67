"""Serving a NEP model to an i-PI server over its socket protocol (``gpunep ipi``).

i-PI (Kapil et al. 2019, Comput. Phys. Commun. 236, 214) runs the dynamics
(path integrals, thermostats, barostats, enhanced sampling) and asks a
client for energies, forces and virials over a UNIX or TCP socket. The
client here is ASE's ``SocketClient`` around :class:`~gpunep.calculator.NEPCalculator`:
it speaks the protocol, converts units (i-PI works in Hartree and Bohr) and
ships with ASE, which gpunep needs anyway. i-PI's own Python driver would
add a dependency and a second model-loading path for nothing in return.

i-PI sends cells and positions but not species or periodicity: those come
from the structure the run starts from (the file i-PI reads, in the same
atom order), with its ``pbc``. The recipe: docs/md-drivers.md#the-recipe.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gpunep.geometry import cell_volume

if TYPE_CHECKING:
    from ase import Atoms
    from ase.calculators.calculator import Calculator

#: i-PI's default TCP port, as in its input files and ASE's client
DEFAULT_PORT = 31415
#: how often a client that found no server tries again (s)
RETRY_INTERVAL = 0.5


def serve(calculator: "Calculator", structure: "Atoms", *, address: str = "localhost",
          port: int = DEFAULT_PORT, unix: bool = False, wait: float = 60.0,
          timeout: float | None = None) -> int:
    """Answer an i-PI server's requests with ``calculator`` until the server ends the run.

    Parameters
    ----------
    calculator : an ASE calculator, usually a :class:`~gpunep.calculator.NEPCalculator`
    structure : the atoms i-PI simulates: species in i-PI's atom order and
        ``pbc`` (i-PI sends neither); its positions and cell are replaced by i-PI's
    address : the server's host name (TCP), or with ``unix`` the name of its
        UNIX socket (``<address>`` in i-PI's ``ffsocket``; the socket is
        ``/tmp/ipi_<address>``)
    port : the server's TCP port (ignored with ``unix``)
    unix : connect to a UNIX socket instead of TCP
    wait : seconds to keep trying while no server listens yet (job scripts
        often start server and client together)
    timeout : seconds a socket operation may block, None for no limit

    Returns
    -------
    int
        The number of force evaluations served.

    Notes
    -----
    The virial is sent whenever the cell is three-dimensional (the stress
    exists, see :class:`~gpunep.calculator.NEPCalculator`), so barostats see
    the stress of slabs and of molecules in a box; ASE's client alone would
    send it only for periodic structures.
    """
    atoms = structure.copy()
    atoms.calc = calculator
    client = _connect(address, port, unix, wait, timeout)
    served = 0
    for _ in client.irun(atoms, use_stress=cell_volume(atoms.cell[:]) > 0.0):
        served += 1
    return served


def _connect(address: str, port: int, unix: bool, wait: float, timeout: float | None):
    """ASE's socket client connected to the server, retrying for ``wait`` seconds.

    Raises
    ------
    ConnectionError
        No server accepted within ``wait`` seconds (names where it looked).
    """
    from ase.calculators.socketio import SocketClient, actualunixsocketname

    where = f"UNIX socket {actualunixsocketname(address)}" if unix else f"{address}:{port}"
    deadline = time.monotonic() + wait
    while True:
        try:
            if unix:
                return SocketClient(unixsocket=address, timeout=timeout)
            return SocketClient(host=address, port=port, timeout=timeout)
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            if time.monotonic() >= deadline:
                raise ConnectionError(f"no i-PI server at {where} after {wait:g} s ({exc}); start "
                                      "i-pi first, or check its ffsocket address and mode") from None
            time.sleep(RETRY_INTERVAL)
